import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src-main/core/audit/audit-log.ts';
import { CounterStore, rowToRecord } from '../../src-main/core/store/counter-store.ts';
import { given, ratingCtx, verifyRatingChain } from './store-fixtures.ts';

let dir: string;
let clock: Date;
const now = () => clock;
const DAY = 86_400_000;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-retention-'));
  clock = new Date('2026-10-01T08:00:00.000Z');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function press(store: CounterStore, pressId: number) {
  return store.commitPress({ bootId: 3, pressId, key: 2 }, () => ({
    rate: true,
    given: given(4),
    ctx: ratingCtx({ source: 'pad', pad: { boot_id: 3, press_id: pressId, key: 2 } }),
  }));
}

function n(store: CounterStore, sql: string): number {
  return (store.db.prepare(sql).get() as { n: number }).n;
}

describe('retention of acked ratings', () => {
  it('prunes everything acked and old in small batches but keeps the chain head, so seq and prev_hash continue', async () => {
    const store = new CounterStore(join(dir, 'counter.db'), now);
    for (let i = 1; i <= 10; i++) press(store, i);
    store.commitPress({ bootId: 3, pressId: 11, key: 1 }, () => ({ rate: false, reason: 'no_rating_open' }));
    store.markAckedThrough(10);
    const head = store.db.prepare('SELECT hash FROM ratings WHERE seq = 10').get() as { hash: string };
    clock = new Date(clock.getTime() + 31 * DAY);

    const result = await store.pruneAcked(30, 3);
    expect(result).toEqual({ pruned: 9, presses_unlinked: 9, batches: 3 });
    expect(store.db.prepare('SELECT seq FROM ratings').all()).toEqual([{ seq: 10 }]);
    // Press rows outlive their ratings, for dedup; their reference is cleared, foreign keys hold.
    expect(n(store, 'SELECT COUNT(*) AS n FROM pad_presses')).toBe(11);
    expect(n(store, 'SELECT COUNT(*) AS n FROM pad_presses WHERE rating_seq IS NULL')).toBe(10);
    expect(store.db.pragma('foreign_key_check')).toEqual([]);
    expect(store.queueStats()).toMatchObject({ queue_depth: 0, last_acked_seq: 10, last_seq: 10 });

    // Nothing more to prune: the head stays even when it is acked and old.
    expect(await store.pruneAcked(30, 3)).toEqual({ pruned: 0, presses_unlinked: 0, batches: 0 });

    const next = store.commitRating(given(5), ratingCtx());
    expect(next.seq).toBe(11);
    expect(next.prev_hash).toBe(head.hash);
    expect(verifyRatingChain(store.db, (r) => rowToRecord(r, store.deviceId), false)).toMatchObject({
      ok: true,
      first: 10,
      last: 11,
    });

    // A pad that resends a press whose rating was pruned gets its first outcome, not a new rating.
    let decided = false;
    const again = store.commitPress({ bootId: 3, pressId: 4, key: 2 }, () => {
      decided = true;
      return { rate: true, given: given(4), ctx: ratingCtx() };
    });
    expect(again).toMatchObject({ outcome: 0, repeat: true, record: null });
    expect(decided).toBe(false);

    // Pruning is logged, batch by batch, anchored to the last pruned hash.
    const logged = store.db
      .prepare("SELECT details FROM audit_log WHERE action = 'ratings.pruned' ORDER BY seq")
      .all() as { details: string }[];
    expect(logged.map((r) => JSON.parse(r.details))).toMatchObject([
      { from_seq: 1, to_seq: 3, count: 3, older_than_days: 30 },
      { from_seq: 4, to_seq: 6, count: 3 },
      { from_seq: 7, to_seq: 9, count: 3 },
    ]);
    expect(verifyAuditChain(store.db)).toMatchObject({ ok: true, entries: 3 });
    store.close();

    // And after a restart too.
    const reopened = new CounterStore(join(dir, 'counter.db'), now);
    expect(reopened.commitRating(given(5), ratingCtx()).seq).toBe(12);
    reopened.close();
  });

  it('never prunes unacked rows, nor rows acked less than N days ago', async () => {
    const store = new CounterStore(join(dir, 'counter.db'), now);
    for (let i = 1; i <= 10; i++) store.commitRating(given(5), ratingCtx());
    store.markAckedThrough(4);
    clock = new Date(clock.getTime() + 10 * DAY);
    store.markAckedThrough(6);
    clock = new Date(clock.getTime() + 25 * DAY);
    // Acked 35 and 25 days ago: with 30 days only 1..4 go.
    expect(await store.pruneAcked(30, 500)).toMatchObject({ pruned: 4, batches: 1 });
    expect(store.db.prepare('SELECT seq FROM ratings ORDER BY seq').all()).toEqual(
      [5, 6, 7, 8, 9, 10].map((seq) => ({ seq })),
    );
    expect(store.queueStats()).toMatchObject({ queue_depth: 4, last_acked_seq: 6, last_seq: 10 });
    expect(store.unsentBatch(10).map((r) => r.seq)).toEqual([7, 8, 9, 10]);
    // Default 30 days; a shorter period prunes the rest of the acked rows, never 7..10.
    expect(await store.pruneAcked(20)).toMatchObject({ pruned: 2 });
    expect(store.db.prepare('SELECT seq FROM ratings ORDER BY seq').all()).toEqual(
      [7, 8, 9, 10].map((seq) => ({ seq })),
    );
    store.close();
  });

  it('yields to the event loop between batches', async () => {
    const store = new CounterStore(join(dir, 'counter.db'), now);
    store.transact(() => {
      for (let i = 1; i <= 50; i++) store.commitRating(given(5), ratingCtx());
    });
    store.markAckedThrough(50);
    clock = new Date(clock.getTime() + 40 * DAY);
    let immediates = 0;
    const spin = () => {
      immediates++;
      if (immediates < 1000) setImmediate(spin);
    };
    setImmediate(spin);
    const result = await store.pruneAcked(30, 5);
    expect(result).toMatchObject({ pruned: 49, batches: 10 });
    // Other work ran between the batches (the prune did not hold the loop for all ten).
    expect(immediates).toBeGreaterThanOrEqual(9);
    store.close();
  });
});
