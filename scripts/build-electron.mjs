#!/usr/bin/env node
// Bundles Electron's main process and preload (TypeScript sources) into dist-electron/ as CommonJS,
// the one format both load without flags. Native modules stay external: electron-builder rebuilds them.
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external: ['electron', 'better-sqlite3', 'serialport', '@serialport/*', '@node-rs/*'],
  logLevel: 'warning',
};
await build({ ...common, entryPoints: ['src-main/electron/main.ts'], outfile: 'dist-electron/main.cjs' });
await build({
  ...common,
  entryPoints: ['src-main/preload/preload.ts'],
  outfile: 'dist-electron/preload.cjs',
});
