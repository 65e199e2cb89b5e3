import type { TestProject } from 'vitest/node';
import { startPgCluster } from './helpers/pg-cluster.ts';

export { findPgBin } from './helpers/pg-cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the throwaway cluster (database haocha_test); empty outside the postgres project. */
    haochaPgUrl: string;
  }
}

/** A throwaway PostgreSQL cluster for the postgres test project (tests/helpers/pg-cluster.ts), removed at teardown. */
export default async function setup(project: TestProject): Promise<() => void> {
  const cluster = await startPgCluster({ database: 'haocha_test', durable: false });
  project.provide('haochaPgUrl', cluster.url);
  return cluster.stop;
}
