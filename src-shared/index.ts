export * from './calls.ts';
export * from './chain.ts';
export * from './config-bundle.ts';
export * from './levels.ts';
export * from './rating.ts';
export * from './result.ts';
export * from './window-api.ts';
export * from './wire.ts';
