import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { exportRatings } from '../../hub/export.ts';
import { HUB_DB_FILE, openHubStore, type SqliteHubStore } from '../../hub/store/sqlite.ts';
import { MIGRATIONS, migrate } from '../../hub/store/sqlite-migrations.ts';
import { StoreDamagedError } from '../../hub/store/types.ts';
import { shanghaiDay } from '../../hub/time.ts';
import type { AnyRatingRecord } from '../../src-shared/index.ts';
import { makeTempDir } from './harness.ts';
import { batchOf, makeLegacyStream, makeStream, seal, verifies } from './records.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function tempDir(): Promise<string> {
  const dir = await makeTempDir();
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function open(dir: string): SqliteHubStore {
  const store = openHubStore(dir);
  cleanups.push(() => store.close());
  return store;
}

const at = new Date('2026-11-27T03:00:00Z');

describe('SQLite hub store', () => {
  it('sets WAL, synchronous=FULL, foreign keys and a busy timeout on every open', async () => {
    const dir = await tempDir();
    for (let i = 0; i < 2; i++) {
      const store = open(dir);
      expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(store.db.pragma('synchronous', { simple: true })).toBe(2); // FULL
      expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(store.db.pragma('busy_timeout', { simple: true })).toBe(5000);
      expect(store.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.at(-1)?.version);
      await store.close();
    }
  });

  it('keeps ratings and cursors across close and reopen, and the chain continues', async () => {
    const dir = await tempDir();
    const stream = makeStream({ count: 15 });
    const first = open(dir);
    expect((await first.ingest(batchOf(stream, 1, 10), at)).ok).toBe(true);
    await first.close();

    const again = open(dir);
    const latest = MIGRATIONS.at(-1)?.version;
    expect(again.migration).toEqual({ from: latest, to: latest, backup: null });
    expect(await again.deviceCursor('counter-01')).toMatchObject({
      last_seq: 10,
      last_hash: stream[9]?.hash,
    });
    expect((await again.summary()).ratings).toBe(10);
    const outcome = await again.ingest(batchOf(stream, 9, 15), at);
    expect(outcome.ok && outcome.reply.items.map((i) => i.status)).toEqual([
      'duplicate',
      'duplicate',
      'stored',
      'stored',
      'stored',
      'stored',
      'stored',
    ]);
  });

  it('gives back every record exactly as sent, legacy or current (its hash still verifies), page by page', async () => {
    const dir = await tempDir();
    const stream = makeStream({
      count: 7,
      legacy: (i) => i < 3,
      outcome: (i) => (i === 5 ? 'not_rated' : 'rated'),
      signals: (i) => (i === 6 ? ['burst', 'off_hours'] : []),
    });
    const store = open(dir);
    await store.ingest(batchOf(stream, 1, 7), at);
    const seen = [];
    let after: string | null = null;
    do {
      const page = await store.listRatings({ after, limit: 3 });
      seen.push(...page.ratings);
      after = page.next;
    } while (after);
    expect(seen.map(({ received_at, ...record }) => record)).toEqual(stream);
    expect(seen.every((r) => r.received_at === at.toISOString())).toBe(true);
    for (const { received_at: _r, ...record } of seen) expect(verifies(record)).toBe(true);
  });

  it('filters by rated_at with `since`, whatever offset the time was written with', async () => {
    const dir = await tempDir();
    const stream = makeStream({ count: 5, ratedAt: (i) => `2026-11-27T0${i}:00:00+08:00` });
    const store = open(dir);
    await store.ingest(batchOf(stream, 1, 5), at);
    const page = await store.listRatings({ since: '2026-11-26T18:00:00Z' }); // = 02:00 in Shanghai
    expect(page.ratings.map((r) => r.seq)).toEqual([3, 4, 5]);
    await expect(store.listRatings({ since: 'last week' })).rejects.toThrow(RangeError);
  });

  it('refuses to open a damaged file, leaving it untouched', async () => {
    const dir = await tempDir();
    const file = join(dir, HUB_DB_FILE);
    const garbage = Buffer.alloc(8192, 0x5a);
    await writeFile(file, garbage);
    expect(() => openHubStore(dir)).toThrow(StoreDamagedError);
    expect(() => openHubStore(dir)).toThrow(/move the file .* aside/);
    expect(await readFile(file)).toEqual(garbage);
  });

  it('refuses a database written by a newer hub', async () => {
    const dir = await tempDir();
    const store = open(dir);
    store.db.pragma('user_version = 99');
    await store.close();
    expect(() => openHubStore(dir)).toThrow(/newer than this hub knows/);
  });

  it('backs up an existing database before migrating it, one transaction per step', async () => {
    const dir = await tempDir();
    const stream = makeStream({ count: 3 });
    const store = open(dir);
    await store.ingest(batchOf(stream, 1, 3), at);
    await store.close();

    const file = join(dir, HUB_DB_FILE);
    const db = new Database(file);
    cleanups.push(async () => {
      db.close();
    });
    const latest = MIGRATIONS.at(-1)?.version ?? 0;
    const next = [
      ...MIGRATIONS,
      { version: latest + 1, name: 'test column', up: 'ALTER TABLE devices ADD COLUMN note TEXT' },
    ];
    const report = migrate(db, file, next);
    expect(report.from).toBe(latest);
    expect(report.to).toBe(latest + 1);
    expect(report.backup).toMatch(new RegExp(`hub\\.db\\.before-v${latest + 1}-.*\\.bak$`));
    const backup = new Database(report.backup ?? '', { readonly: true });
    expect(backup.pragma('user_version', { simple: true })).toBe(latest);
    expect(backup.prepare('SELECT COUNT(*) AS n FROM ratings').get()).toEqual({ n: 3 });
    backup.close();

    // A failing step rolls back entirely: version and schema stay where they were.
    const broken = [
      ...next,
      { version: latest + 2, name: 'broken', up: 'CREATE TABLE x (a); SELECT nope FROM nowhere' },
    ];
    expect(() => migrate(db, file, broken)).toThrow();
    expect(db.pragma('user_version', { simple: true })).toBe(latest + 1);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'x'").get()).toBeUndefined();
    expect((await readdir(dir)).filter((f) => f.endsWith('.bak'))).toHaveLength(2);
  });

  it('migrates a v1 database with data: legacy rows keep their shape and hash, the chain goes on with current records', async () => {
    const dir = await tempDir();
    const file = join(dir, HUB_DB_FILE);
    // A hub v1 file, written with the v1 SQL and rows as the v1 hub stored them.
    const legacy = makeLegacyStream({ count: 4 });
    const v1 = new Database(file);
    migrate(v1, file, MIGRATIONS.slice(0, 1));
    const last = legacy.at(-1) ?? expect.unreachable();
    v1.prepare(
      `INSERT INTO devices VALUES ('counter-01', ?, ?, '2026-11-27T03:00:00.000Z', '2026-11-27T03:00:00.000Z')`,
    ).run(last.seq, last.hash);
    const insert = v1.prepare(
      `INSERT INTO ratings (event_id, device_id, seq, level, channel, case_ref, staff_no, staff_name, window_id,
         hall_id, opened_at, rated_at, mono_ms, app_boot_id, source, pad_boot_id, pad_press_id, pad_key, prev_hash,
         hash, day, rated_ms, received_at)
       VALUES (@event_id, @device_id, @seq, @level, @channel, @case_ref, @staff_no, @staff_name, @window_id,
         @hall_id, @opened_at, @rated_at, @mono_ms, @app_boot_id, @source, @pad_boot_id, @pad_press_id, @pad_key,
         @prev_hash, @hash, @day, @rated_ms, '2026-11-27T03:00:00.000Z')`,
    );
    for (const { pad, ...r } of legacy) {
      insert.run({
        ...r,
        pad_boot_id: pad?.boot_id ?? null,
        pad_press_id: pad?.press_id ?? null,
        pad_key: pad?.key ?? null,
        day: shanghaiDay(r.rated_at),
        rated_ms: Date.parse(r.rated_at),
      });
    }
    expect(v1.pragma('user_version', { simple: true })).toBe(1);
    v1.close();

    const store = open(dir);
    expect(store.migration).toMatchObject({
      from: 1,
      to: MIGRATIONS.at(-1)?.version,
      backup: expect.stringMatching(/before-v\d+-.*\.bak$/),
    });
    expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(store.db.pragma('foreign_key_check')).toEqual([]);
    expect(
      store.db.prepare('SELECT rec_version, outcome, flagged, is_default, COUNT(*) AS n FROM ratings').get(),
    ).toEqual({ rec_version: 1, outcome: 'rated', flagged: 0, is_default: 0, n: 4 });
    const indexes = store.db
      .prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ratings'`)
      .all();
    expect(indexes).toContainEqual({ name: 'ratings_day_place' });

    // Every row exported re-verifies, in the legacy shape its hash covers.
    const chunks: string[] = [];
    await exportRatings(store, { format: 'jsonl' }, (c) => chunks.push(c));
    const lines = chunks
      .join('')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(
      lines.map(({ received_at: _r, pad_boot_id: _b, pad_press_id: _p, rec_version: _v, ...r }) => r),
    ).toEqual(legacy);
    expect(lines.every((l) => l.rec_version === 1 && !('outcome' in l))).toBe(true);

    // The device carries on: current records, one of them 未评价 (level NULL is allowed now).
    const next = makeStream({
      count: 7,
      legacy: (i) => i < 4,
      outcome: (i) => (i === 5 ? 'not_rated' : 'rated'),
    });
    const continued = next.map((r, i) => (i < 4 ? (legacy[i] ?? r) : r));
    // Re-chain the current part onto the stored legacy head.
    const relinked = rechain(continued);
    const outcome = await store.ingest(batchOf(relinked, 3, 7), at);
    expect(outcome.ok && outcome.reply.items.map((i) => i.status)).toEqual([
      'duplicate',
      'duplicate',
      'stored',
      'stored',
      'stored',
    ]);
    const back = (await store.listRatings({})).ratings.map(({ received_at: _r, ...r }) => r);
    expect(back).toEqual(relinked);
    expect(back.every(verifies)).toBe(true);
  });
});

/** Re-links a stream (after records were swapped in) so each prev_hash is the hash before it. */
function rechain(stream: readonly AnyRatingRecord[]): AnyRatingRecord[] {
  const out: AnyRatingRecord[] = [];
  let prev = '0'.repeat(64);
  for (const record of stream) {
    const { hash: _h, ...body } = record;
    const linked = body.prev_hash === prev ? record : seal({ ...body, prev_hash: prev });
    out.push(linked);
    prev = linked.hash;
  }
  return out;
}
