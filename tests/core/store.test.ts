import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CounterStore } from '../../src-main/core/store/counter-store.ts';
import { MIGRATIONS } from '../../src-main/core/store/migrations.ts';
import { chainInput, GENESIS_HASH, type RatingRecord, ratingRecordSchema } from '../../src-shared/index.ts';
import { given, ratingCtx } from './store-fixtures.ts';

const ctx = ratingCtx();
const padCtx = (bootId: number, pressId: number, key: number) =>
  ratingCtx({ source: 'pad', pad: { boot_id: bootId, press_id: pressId, key } });

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('counter store', () => {
  it('sets WAL and FULL sync on every open, and migrates to the latest schema', () => {
    const path = join(dir, 'counter.db');
    for (let i = 0; i < 2; i++) {
      const store = new CounterStore(path);
      expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(store.db.pragma('synchronous', { simple: true })).toBe(2);
      expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(store.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      store.close();
    }
  });

  it('keeps its device id across reopen', () => {
    const path = join(dir, 'counter.db');
    const a = new CounterStore(path);
    const id = a.deviceId;
    a.close();
    const b = new CounterStore(path);
    expect(b.deviceId).toBe(id);
    b.close();
  });

  it('chains ratings gap-free with valid records and hashes', () => {
    const store = new CounterStore(join(dir, 'counter.db'));
    for (let i = 0; i < 5; i++) store.commitRating(given(((i % 5) + 1) as 1), ctx);
    const batch = store.unsentBatch(100);
    expect(batch.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    let prev = GENESIS_HASH;
    for (const r of batch) {
      expect(ratingRecordSchema.safeParse(r).success).toBe(true);
      expect(r.prev_hash).toBe(prev);
      expect(r.hash).toBe(
        createHash('sha256')
          .update(chainInput(r as RatingRecord))
          .digest('hex'),
      );
      prev = r.hash;
    }
    store.close();
  });

  it('gives a repeated pad press its first outcome and writes nothing new', () => {
    const store = new CounterStore(join(dir, 'counter.db'));
    const press = { bootId: 77, pressId: 1, key: 1 };
    const first = store.commitPress(press, () => ({ rate: true, given: given(5), ctx: padCtx(77, 1, 1) }));
    expect(first).toMatchObject({ outcome: 0, repeat: false });
    let decided = false;
    const again = store.commitPress(press, () => {
      decided = true;
      return { rate: true, given: given(5), ctx: padCtx(77, 1, 1) };
    });
    expect(again).toMatchObject({ outcome: 0, repeat: true, record: null });
    expect(decided).toBe(false);
    const notRating = store.commitPress({ bootId: 77, pressId: 2, key: 3 }, () => ({
      rate: false,
      reason: 'no_rating_open',
    }));
    expect(notRating.outcome).toBe(1);
    expect(store.queueStats()).toMatchObject({ queue_depth: 1, last_seq: 1 });
    store.close();
  });

  it('marks acked through a seq and rewinds to a cursor', () => {
    const store = new CounterStore(join(dir, 'counter.db'));
    for (let i = 0; i < 10; i++) store.commitRating(given(4), ctx);
    store.markAckedThrough(7);
    expect(store.queueStats()).toMatchObject({ queue_depth: 3, last_acked_seq: 7 });
    store.rewindTo(4);
    expect(store.queueStats()).toMatchObject({ queue_depth: 6, last_acked_seq: 4 });
    expect(store.unsentBatch(2).map((r) => r.seq)).toEqual([5, 6]);
    store.close();
  });

  it('answers queue figures from index seeks that agree with counting the rows', () => {
    const store = new CounterStore(join(dir, 'counter.db'));
    const counted = () => {
      // Acked: covered by an ack mark (migration 6).
      const acked = '(SELECT COALESCE(MAX(through_seq), 0) FROM ack_marks)';
      const q = store.db
        .prepare(`SELECT COUNT(*) AS n, MIN(rated_at) AS oldest FROM ratings WHERE seq > ${acked}`)
        .get() as { n: number; oldest: string | null };
      const a = store.db.prepare(`SELECT MAX(seq) AS s FROM ratings WHERE seq <= ${acked}`).get() as {
        s: number | null;
      };
      const l = store.db.prepare('SELECT MAX(seq) AS s FROM ratings').get() as { s: number | null };
      return { queue_depth: q.n, last_acked_seq: a.s ?? 0, oldest_unsent_at: q.oldest, last_seq: l.s ?? 0 };
    };
    expect(store.queueStats()).toEqual(counted());
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 48271) % 2147483647;
      return seed % n;
    };
    for (let step = 0; step < 60; step++) {
      const op = rnd(4);
      if (op <= 1) store.commitRating(given(4), ctx);
      else if (op === 2) store.markAckedThrough(rnd(store.queueStats().last_seq + 1));
      else store.rewindTo(rnd(store.queueStats().last_seq + 1));
      expect(store.queueStats(), `after step ${step}`).toEqual(counted());
    }
    store.close();
  });

  it('checkpoints the WAL after commits return, never inside one', async () => {
    const path = join(dir, 'counter.db');
    const store = new CounterStore(path);
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const before = statSync(path).size;
    for (let i = 0; i < 150; i++) store.commitRating(given(4), ctx);
    // Still all in the WAL: no commit copied it into the file.
    expect(statSync(path).size).toBe(before);
    await new Promise((r) => setImmediate(r));
    expect(statSync(path).size).toBeGreaterThan(before);
    // A loop that never yields still gets one inline, so the WAL cannot grow without bound.
    const afterFirst = statSync(path).size;
    store.transact(() => undefined);
    for (let i = 0; i < 2100; i++) store.commitRating(given(4), ctx);
    expect(statSync(path).size).toBeGreaterThan(afterFirst);
    store.close();
  });

  it('keeps a damaged file aside and opens a fresh store', () => {
    const path = join(dir, 'counter.db');
    writeFileSync(path, Buffer.alloc(8192, 0x5a));
    const store = new CounterStore(path);
    expect(store.report.integrity).toBe('recovered');
    expect(store.report.damagedCopy).toMatch(/counter\.db\.damaged-/);
    store.close();
  });

  it('refuses a store from a newer app instead of guessing', () => {
    const path = join(dir, 'counter.db');
    const db = new Database(path);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => new CounterStore(path)).toThrow(/newer than this app/);
  });
});
