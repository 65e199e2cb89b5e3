import { isPostgresUrl, openPostgresHubStore } from './postgres/store.ts';
import { openHubStore } from './sqlite.ts';
import type { HubStore } from './types.ts';

export interface OpenStoreOptions {
  /** The hub's data directory: the SQLite file lives here (and the admin token, whatever the engine). */
  dataDir: string;
  /** A postgres:// or postgresql:// URL selects PostgreSQL; absent, the embedded SQLite store. */
  db?: string | undefined;
}

/** The hub's store for the chosen engine, opened and migrated. */
export async function openStore({ dataDir, db }: OpenStoreOptions): Promise<HubStore> {
  if (db === undefined || db === '') return openHubStore(dataDir);
  if (isPostgresUrl(db)) return openPostgresHubStore(db);
  throw new RangeError(`--db must be a postgres:// or postgresql:// URL, got ${redact(db)}`);
}

/** A URL without its password, for messages and logs. */
export function redact(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}
