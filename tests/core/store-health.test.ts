import { execFileSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, verifyAuditChain } from '../../src-main/core/audit/audit-log.ts';
import { CounterStore, rowToRecord } from '../../src-main/core/store/counter-store.ts';
import { classifyWriteError, StoreUnavailableError } from '../../src-main/core/store/health.ts';
import { MIGRATIONS } from '../../src-main/core/store/migrations.ts';
import { given, ratingCtx, verifyRatingChain } from './store-fixtures.ts';

let dir: string;
const mounts: string[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-health-'));
});
afterEach(() => {
  for (const m of mounts.splice(0)) {
    try {
      execFileSync('umount', [m], { stdio: 'ignore' });
    } catch {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/** A real small filesystem (tmpfs of `size`), where we may mount one (root in CI); null elsewhere. */
function smallFs(size: string): string | null {
  if (process.env.HAOCHA_NO_MOUNT === '1' || process.getuid?.() !== 0) return null;
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt], { stdio: 'ignore' });
  } catch {
    return null;
  }
  mounts.push(mnt);
  return mnt;
}

/** Writes a filler file until the filesystem says ENOSPC. */
function fillUp(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(16 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

/** What the counter does for a pad press: the rating, its press row and its audit entry in one transaction. */
function commitPressWithAudit(store: CounterStore, audit: AuditLog, pressId: number) {
  return store.transact(() => {
    const r = store.commitPress({ bootId: 9, pressId, key: 1 }, () => ({
      rate: true,
      given: given(5),
      ctx: ratingCtx({ source: 'pad', pad: { boot_id: 9, press_id: pressId, key: 1 } }),
    }));
    audit.append('citizen', 'rating.committed', { seq: r.record?.seq, press_id: pressId });
    return r;
  });
}

function counts(store: CounterStore) {
  const n = (sql: string) => (store.db.prepare(sql).get() as { n: number }).n;
  return {
    ratings: n('SELECT COUNT(*) AS n FROM ratings'),
    presses: n('SELECT COUNT(*) AS n FROM pad_presses'),
    audit: n('SELECT COUNT(*) AS n FROM audit_log'),
  };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Fill, see the failure and the health, check nothing is half-written or damaged, free space,
 * see the store recover by itself and the chain continue gap-free.
 */
async function fullAndBack(store: CounterStore, fill: () => void, free: () => void): Promise<void> {
  const audit = new AuditLog(store.db);
  const healthSeen: string[] = [];
  store.onHealthChange((v) => healthSeen.push(v.health));
  let ok = 0;
  for (; ok < 3; ok++) commitPressWithAudit(store, audit, ok + 1);
  fill();
  let failure: unknown = null;
  for (let i = 0; i < 20_000 && failure === null; i++) {
    try {
      commitPressWithAudit(store, audit, ok + 1);
      ok++;
    } catch (err) {
      failure = err;
    }
  }
  expect(failure).not.toBeNull();
  expect((failure as { code: string }).code).toBe('SQLITE_FULL');
  const view = store.view();
  expect(view.health).toBe('disk_full');
  expect(view.message).toMatch(/磁盘已满/);
  expect(view.message).toMatch(/Disk full/);
  expect(healthSeen).toEqual(['disk_full']);
  // Nothing half-written: every table holds exactly the commits that returned.
  expect(counts(store)).toEqual({ ratings: ok, presses: ok, audit: ok });
  expect(store.db.pragma('quick_check', { simple: true })).toBe('ok');
  expect(verifyRatingChain(store.db, (r) => rowToRecord(r, store.deviceId))).toMatchObject({
    ok: true,
    rows: ok,
  });
  expect(verifyAuditChain(store.db)).toMatchObject({ ok: true, entries: ok });
  // The press that failed was not recorded: when the pad resends it, it is new, not a repeat.
  const failedPress = ok + 1;
  free();
  await until(() => store.view().health === 'ok');
  expect(healthSeen).toEqual(['disk_full', 'ok']);
  expect(store.view().message).toBeNull();
  const next = commitPressWithAudit(store, audit, failedPress);
  expect(next).toMatchObject({ outcome: 0, repeat: false });
  expect(next.record?.seq).toBe(ok + 1);
  expect(verifyRatingChain(store.db, (r) => rowToRecord(r, store.deviceId))).toMatchObject({
    ok: true,
    rows: ok + 1,
  });
  expect(verifyAuditChain(store.db)).toMatchObject({ ok: true, entries: ok + 1 });
}

describe('store health: disk full', () => {
  it('on a real full filesystem: clear error, nothing half-written, recovers by itself', async (t) => {
    const mnt = smallFs('1m');
    if (!mnt) return t.skip();
    const store = new CounterStore(join(mnt, 'counter.db'), undefined, { probeIntervalMs: 50 });
    const filler = join(mnt, 'filler');
    await fullAndBack(
      store,
      () => fillUp(filler),
      () => unlinkSync(filler),
    );
    store.close();
    // And the file reopens clean after all that.
    const again = new CounterStore(join(mnt, 'counter.db'));
    expect(again.report.integrity).toBe('ok');
    expect(again.queueStats().last_seq).toBeGreaterThan(3);
    again.close();
  });

  it("at SQLite's own page limit (max_page_count): same guarantees", async () => {
    const store = new CounterStore(join(dir, 'counter.db'), undefined, { probeIntervalMs: 50 });
    await fullAndBack(
      store,
      () => {
        const pages = store.db.pragma('page_count', { simple: true }) as number;
        store.db.pragma(`max_page_count = ${pages + 2}`);
      },
      () => store.db.pragma('max_page_count = 1000000'),
    );
    store.close();
  });

  it('probes no more once closed', async () => {
    const store = new CounterStore(join(dir, 'counter.db'), undefined, { probeIntervalMs: 10 });
    store.db.pragma(`max_page_count = ${store.db.pragma('page_count', { simple: true })}`);
    expect(() => {
      for (let i = 0; i < 100; i++) store.commitRating(given(4), ratingCtx());
    }).toThrow(/full/);
    expect(store.view().health).toBe('disk_full');
    store.close();
    await new Promise((r) => setTimeout(r, 50));
  });
});

describe('store health: migrating on a full disk', () => {
  it('fails with a clear disk_full error, leaves the old store as it was, and migrates once space returns', (t) => {
    const mnt = smallFs('1m');
    if (!mnt) return t.skip();
    const path = join(mnt, 'counter.db');
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec(MIGRATIONS[0] as string);
    old.pragma('user_version = 1');
    old
      .prepare("INSERT INTO meta (key, value) VALUES ('device_id', 'ctr-old'), ('pad', ?)")
      .run('x'.repeat(100_000));
    old.close();
    const filler = join(mnt, 'filler');
    fillUp(filler);
    let failure: unknown = null;
    try {
      new CounterStore(path).close();
    } catch (err) {
      failure = err;
    }
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect((failure as StoreUnavailableError).health).toBe('disk_full');
    expect((failure as Error).message).toMatch(/磁盘已满/);
    unlinkSync(filler);
    const check = new Database(path, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(1);
    check.close();
    const store = new CounterStore(path);
    expect(store.report).toMatchObject({ migratedFrom: 1, version: MIGRATIONS.length });
    expect(store.deviceId).toBe('ctr-old');
    store.close();
  });
});

describe('store health: read-only', () => {
  it('a write refused as read-only turns health read_only, and the probe brings it back', async () => {
    const store = new CounterStore(join(dir, 'counter.db'), undefined, { probeIntervalMs: 50 });
    store.commitRating(given(5), ratingCtx());
    // SQLite's own read-only switch on this connection: every write fails with SQLITE_READONLY.
    store.db.pragma('query_only = ON');
    let failure: unknown = null;
    try {
      store.commitRating(given(5), ratingCtx());
    } catch (err) {
      failure = err;
    }
    expect((failure as { code: string }).code).toMatch(/^SQLITE_READONLY/);
    expect(store.view()).toMatchObject({ health: 'read_only' });
    expect(store.view().message).toMatch(/只读/);
    expect(store.view().message).toMatch(/read-only/);
    expect(store.probe()).toBe(false);
    store.db.pragma('query_only = OFF');
    await until(() => store.view().health === 'ok');
    expect(store.commitRating(given(5), ratingCtx()).seq).toBe(2);
    store.close();
  });

  it('on a real read-only filesystem: a clear error at open, and the file is neither moved nor touched', (t) => {
    const mnt = smallFs('4m');
    if (!mnt) return t.skip();
    const path = join(mnt, 'counter.db');
    const store = new CounterStore(path);
    store.commitRating(given(5), ratingCtx());
    store.close();
    const before = readFileSync(path);
    const names = readdirSync(mnt).sort();
    execFileSync('mount', ['-o', 'remount,ro', mnt]);
    let failure: unknown = null;
    try {
      new CounterStore(path).close();
    } catch (err) {
      failure = err;
    }
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect((failure as StoreUnavailableError).health).toBe('read_only');
    expect((failure as Error).message).toMatch(/只读/);
    expect(readdirSync(mnt).sort()).toEqual(names);
    expect(readFileSync(path).equals(before)).toBe(true);
    execFileSync('mount', ['-o', 'remount,rw', mnt]);
    const again = new CounterStore(path);
    expect(again.report.integrity).toBe('ok');
    expect(again.queueStats().last_seq).toBe(1);
    again.close();
  });
});

describe('classifyWriteError', () => {
  it('maps SQLite result codes to health and leaves other failures alone', () => {
    const e = (code: string) => Object.assign(new Error(code), { code });
    expect(classifyWriteError(e('SQLITE_FULL'))).toBe('disk_full');
    expect(classifyWriteError(e('SQLITE_READONLY'))).toBe('read_only');
    expect(classifyWriteError(e('SQLITE_READONLY_DBMOVED'))).toBe('read_only');
    expect(classifyWriteError(e('SQLITE_CANTOPEN'))).toBe('read_only');
    expect(classifyWriteError(e('SQLITE_IOERR_WRITE'))).toBe('error');
    expect(classifyWriteError(e('SQLITE_IOERR_FSYNC'))).toBe('error');
    expect(classifyWriteError(e('SQLITE_IOERR_SHMSIZE'))).toBe('disk_full');
    expect(classifyWriteError(e('SQLITE_CONSTRAINT_UNIQUE'))).toBeNull();
    expect(classifyWriteError(e('SQLITE_BUSY'))).toBeNull();
    expect(classifyWriteError(new Error('invalid rating record'))).toBeNull();
  });

  it('does not change health for a failure that is not about the disk', () => {
    const store = new CounterStore(join(dir, 'counter.db'));
    expect(() =>
      store.transact(() => store.db.prepare('INSERT INTO meta (key) VALUES (NULL)').run()),
    ).toThrow();
    expect(store.view().health).toBe('ok');
    store.close();
  });
});
