import { startPgCluster } from '../../tests/helpers/pg-cluster.ts';

/**
 * The benchmarks' `--db`: absent for the embedded SQLite hub, a postgres:// URL for a server of
 * yours, or `postgres` for a throwaway durable cluster on loopback (fsync on, as a hub would run),
 * stopped and removed on exit. `database(name)` gives each measured store a fresh database.
 */
export async function benchDb(arg: string | undefined): Promise<{
  label: string;
  database(name: string): string | undefined;
  stop(): void;
}> {
  if (arg === undefined) return { label: 'sqlite', database: () => undefined, stop: () => {} };
  if (arg !== 'postgres') return { label: 'postgresql', database: () => arg, stop: () => {} };
  const cluster = await startPgCluster({ database: 'haocha_bench', durable: true });
  process.once('exit', () => cluster.stop());
  let first = true;
  return {
    label: 'postgresql (throwaway cluster, durable)',
    database(name) {
      if (first) {
        first = false;
        return cluster.url;
      }
      return cluster.createDatabase(name);
    },
    stop: () => cluster.stop(),
  };
}
