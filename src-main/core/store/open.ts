import { copyFileSync, existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
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

/**
 * Opens (creating if needed) the counter's store: pragmas, quick_check with recovery, migrations
 * by user_version with a backup copy of the file before any migration of existing data.
 */
export function openStore(path: string, now: () => Date = () => new Date()): { db: Db; report: OpenReport } {
  mkdirSync(dirname(path), { recursive: true });
  let damagedCopy: string | null = null;
  let db: Db;
  try {
    db = new Database(path);
    applyPragmas(db, false);
    const verdict = quickCheck(db);
    if (verdict !== 'ok') throw new Error(`quick_check: ${verdict}`);
  } catch (cause) {
    // A file SQLite cannot read or that fails quick_check: keep it aside for IT, start afresh.
    damagedCopy = `${path}.damaged-${now().toISOString().replace(/[:.]/g, '-')}`;
    for (const suffix of ['', '-wal', '-shm']) {
      if (existsSync(path + suffix)) renameSync(path + suffix, damagedCopy + suffix);
    }
    db = new Database(path);
    applyPragmas(db, false);
    process.emitWarning(`store ${path} was damaged (${(cause as Error).message}); kept at ${damagedCopy}`);
  }
  const from = db.pragma('user_version', { simple: true }) as number;
  let backup: string | null = null;
  if (from > MIGRATIONS.length) {
    db.close();
    throw new Error(
      `store ${path} is at schema ${from}, newer than this app (${MIGRATIONS.length}): update the app`,
    );
  }
  if (from > 0 && from < MIGRATIONS.length) {
    db.pragma('wal_checkpoint(TRUNCATE)');
    backup = `${path}.v${from}.bak`;
    copyFileSync(path, backup);
  }
  for (let v = from; v < MIGRATIONS.length; v++) {
    const sql = MIGRATIONS[v] as string;
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${v + 1}`);
    })();
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
