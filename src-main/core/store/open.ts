import { copyFileSync, existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { classifyWriteError, StoreUnavailableError } from './health.ts';
import { MIGRATIONS } from './migrations.ts';

export type Db = Database.Database;

export interface OpenReport {
  path: string;
  /** quick_check's verdict; a damaged file is moved aside and a fresh one opened, never deleted. */
  integrity: 'ok' | 'recovered';
  damagedCopy: string | null;
  migratedFrom: number;
  version: number;
  backup: string | null;
}

/** Pragmas that must hold on every open, not just at creation: synchronous is per connection. */
function applyPragmas(db: Db, readonly: boolean): void {
  if (!readonly) db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
}

function quickCheck(db: Db): string {
  const rows = db.pragma('quick_check') as { quick_check: string }[];
  return rows.map((r) => r.quick_check).join('; ');
}

/** SQLite's verdict that the file is not a usable database: the only case a file is moved aside. */
function isDamage(err: unknown): boolean {
  if (err instanceof DamagedStoreError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_NOTADB' || (typeof code === 'string' && code.startsWith('SQLITE_CORRUPT'));
}

class DamagedStoreError extends Error {}

/**
 * Opens (creating if needed) the counter's store: pragmas, quick_check with recovery, migrations
 * by user_version with a backup copy of the file before any migration of existing data.
 *
 * Only damage (not a database, corrupt, quick_check not ok) moves the file aside; a file that
 * cannot be opened for writing (read-only disk, no permission, disk full, I/O error) is left where
 * it is and the open fails with a StoreUnavailableError naming the cause.
 */
export function openStore(path: string, now: () => Date = () => new Date()): { db: Db; report: OpenReport } {
  mkdirSync(dirname(path), { recursive: true });
  let damagedCopy: string | null = null;
  let db: Db | null = null;
  try {
    db = new Database(path);
    // A store from a newer app is refused before anything (even the journal mode) is written to it.
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      db.close();
      throw new Error(
        `store ${path} is at schema ${version}, newer than this app (${MIGRATIONS.length}): update the app`,
      );
    }
    applyPragmas(db, false);
    const verdict = quickCheck(db);
    if (verdict !== 'ok') throw new DamagedStoreError(`quick_check: ${verdict}`);
  } catch (cause) {
    if (db?.open) db.close();
    if (!isDamage(cause)) {
      const health = classifyWriteError(cause);
      if (health) throw new StoreUnavailableError(health, path, cause);
      throw cause;
    }
    // A file SQLite cannot read or that fails quick_check: keep it aside for IT, start afresh.
    damagedCopy = `${path}.damaged-${now().toISOString().replace(/[:.]/g, '-')}`;
    for (const suffix of ['', '-wal', '-shm']) {
      if (existsSync(path + suffix)) renameSync(path + suffix, damagedCopy + suffix);
    }
    db = new Database(path);
    applyPragmas(db, false);
    process.emitWarning(`store ${path} was damaged (${(cause as Error).message}); kept at ${damagedCopy}`);
  }
  try {
    return migrate(db, path, damagedCopy);
  } catch (cause) {
    // A migration (or its backup) that cannot be written leaves the file at its old version.
    if (db.open) db.close();
    const health =
      classifyWriteError(cause) ?? ((cause as NodeJS.ErrnoException).code === 'ENOSPC' ? 'disk_full' : null);
    if (health) throw new StoreUnavailableError(health, path, cause);
    throw cause;
  }
}

function migrate(db: Db, path: string, damagedCopy: string | null): { db: Db; report: OpenReport } {
  const from = db.pragma('user_version', { simple: true }) as number;
  let backup: string | null = null;
  if (from > 0 && from < MIGRATIONS.length) {
    db.pragma('wal_checkpoint(TRUNCATE)');
    backup = `${path}.v${from}.bak`;
    copyFileSync(path, backup);
  }
  // Table rebuilds (migration 3) drop a table others reference: foreign keys are checked once
  // after each step instead of during it (SQLite's documented procedure for schema changes).
  db.pragma('foreign_keys = OFF');
  try {
    for (let v = from; v < MIGRATIONS.length; v++) {
      const sql = MIGRATIONS[v] as string;
      db.transaction(() => {
        db.exec(sql);
        const broken = db.pragma('foreign_key_check') as unknown[];
        if (broken.length > 0) throw new Error(`migration ${v + 1} broke ${broken.length} foreign keys`);
        db.pragma(`user_version = ${v + 1}`);
      })();
    }
  } finally {
    db.pragma('foreign_keys = ON');
  }
  return {
    db,
    report: {
      path,
      integrity: damagedCopy ? 'recovered' : 'ok',
      damagedCopy,
      migratedFrom: from,
      version: MIGRATIONS.length,
      backup,
    },
  };
}

/** Read-only open for `haocha status` while the counter runs (WAL lets both proceed). */
export function openStoreReadonly(path: string): Db {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  applyPragmas(db, true);
  return db;
}
