import Database from 'better-sqlite3';
import { StoreUnavailableError } from './types.ts';

/**
 * Runs one SQLite call of the hub, turning failures a retry may cure (busy, locked, disk full, I/O,
 * read-only, cannot open, corrupt, closed) into StoreUnavailableError: HTTP 503 with Retry-After,
 * so counters back off and try again instead of treating it as a bug (500).
 */
export function sqliteGuard<T>(db: Database.Database, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (
      error instanceof Database.SqliteError &&
      /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|CORRUPT)/.test(error.code)
    )
      throw new StoreUnavailableError(`hub store unavailable: ${error.code}`, { cause: error });
    if (error instanceof TypeError && !db.open)
      throw new StoreUnavailableError('hub store is closed', { cause: error });
    throw error;
  }
}

/**
 * Runs `fn` (one transaction) with synchronous = NORMAL instead of the hub's FULL: the commit is
 * written to the WAL without an fsync of its own. The WAL is one file appended in order, so the
 * next fsync of it (every ingest group makes one) makes it durable as well; a power cut can lose
 * only the last moments of such writes. Used for records that are safe to lose that way (nonces,
 * heartbeats), and for the ingest group commit, which fsyncs the WAL itself before any reply.
 */
export function withoutOwnFsync<T>(db: Database.Database, fn: () => T): T {
  // SQLite refuses to change the safety level inside a transaction: there the caller's commit decides.
  if (db.inTransaction) return fn();
  db.pragma('synchronous = NORMAL');
  try {
    return fn();
  } finally {
    db.pragma('synchronous = FULL');
  }
}
