import type { StoreView } from '../../../src-shared/index.ts';

export type StoreHealth = StoreView['health'];

/** better-sqlite3's SqliteError carries SQLite's extended result code name, e.g. SQLITE_IOERR_WRITE. */
function sqliteCode(err: unknown): string | null {
  if (err === null || typeof err !== 'object') return null;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : null;
}

/**
 * What a failed write says about the store's medium: disk_full (SQLITE_FULL, SQLITE_IOERR_SHMSIZE), read_only
 * (SQLITE_READONLY*, SQLITE_CANTOPEN), error (SQLITE_IOERR*: the disk answered with an I/O error),
 * or null when the failure is not about the medium (a constraint, a bug, a busy lock): those do
 * not change the store's health.
 */
export function classifyWriteError(err: unknown): Exclude<StoreHealth, 'ok'> | null {
  const code = sqliteCode(err);
  if (code === null) return null;
  // SHMSIZE: the WAL index (-shm) could not be extended, which on Linux is ENOSPC (seen when a
  // store is opened on a full disk).
  if (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_SHMSIZE') return 'disk_full';
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN')) return 'read_only';
  if (code.startsWith('SQLITE_IOERR')) return 'error';
  return null;
}

/** The message staff and IT see, Chinese first (the hall's language), then English for the log. */
export function healthMessage(health: Exclude<StoreHealth, 'ok'>, err: unknown): string {
  const code = sqliteCode(err) ?? 'unknown';
  switch (health) {
    case 'disk_full':
      return '磁盘已满，评价暂时无法保存；请清理磁盘空间，空间恢复后自动继续。/ Disk full: ratings cannot be saved; free disk space and the counter resumes by itself.';
    case 'read_only':
      return `存储为只读，评价暂时无法保存；请检查磁盘和数据目录的写权限 (${code})。/ Storage is read-only: ratings cannot be saved; check the disk and the data folder's write permission (${code}).`;
    case 'error':
      return `存储读写出错，评价暂时无法保存；请联系运维检查磁盘 (${code})。/ Storage I/O error: ratings cannot be saved; ask IT to check the disk (${code}).`;
  }
}

/** An error raised when the store's file cannot be opened for writing at all: not damage, so nothing is moved aside. */
export class StoreUnavailableError extends Error {
  constructor(
    readonly health: Exclude<StoreHealth, 'ok'>,
    readonly path: string,
    cause: unknown,
  ) {
    super(`store ${path}: ${healthMessage(health, cause)} [${(cause as Error)?.message ?? String(cause)}]`, {
      cause,
    });
    this.name = 'StoreUnavailableError';
  }
}
