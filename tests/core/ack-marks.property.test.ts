import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CounterStore } from '../../src-main/core/store/counter-store.ts';
import { given, ratingCtx } from './store-fixtures.ts';

/**
 * Acks are kept as marks (migration 6), not as acked_at in every rating. This model is the
 * per-rating column they replace: each rating has the time it was first acked, or none. Any run of
 * commits, acks, rewinds, clock steps and prunes must leave the store answering as the model does.
 */

const DAY = 86_400_000;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-ackmarks-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

type Op =
  | { kind: 'commit'; n: number }
  | { kind: 'ack'; back: number }
  | { kind: 'rewind'; back: number }
  | { kind: 'days'; n: number }
  | { kind: 'prune'; days: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('commit' as const), n: fc.integer({ min: 1, max: 4 }) }),
  },
  // `back` counts back from the last seq (negative: past it), so acks and rewinds land in the stream.
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('ack' as const), back: fc.integer({ min: -2, max: 12 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('rewind' as const), back: fc.integer({ min: -2, max: 12 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('days' as const), n: fc.integer({ min: 1, max: 20 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('prune' as const), days: fc.integer({ min: 1, max: 30 }) }),
  },
);

describe('ack marks (model-based property)', () => {
  it('answer queue, unsent batch and pruning as an acked_at per rating would', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
        let clock = new Date('2026-10-01T08:00:00.000Z');
        const store = new CounterStore(join(dir, `counter-${run++}.db`), () => clock);
        // The model: seq -> time first acked (null while unacked); pruned seqs are gone.
        const model = new Map<number, number | null>();
        let last = 0;
        try {
          for (const o of ops) {
            if (o.kind === 'commit') {
              for (let i = 0; i < o.n; i++) {
                store.commitRating(given(4), ratingCtx());
                model.set(++last, null);
              }
            } else if (o.kind === 'ack') {
              const seq = Math.max(0, last - o.back);
              let newly = 0;
              for (const [s, at] of model)
                if (s <= seq && at === null) {
                  model.set(s, clock.getTime());
                  newly++;
                }
              expect(store.markAckedThrough(seq)).toBe(newly);
            } else if (o.kind === 'rewind') {
              const cursor = Math.max(0, last - o.back);
              let undone = 0;
              for (const [s, at] of model)
                if (s > cursor && at !== null) {
                  model.set(s, null);
                  undone++;
                }
              expect(store.rewindTo(cursor)).toBe(undone);
            } else if (o.kind === 'days') {
              clock = new Date(clock.getTime() + o.n * DAY);
            } else {
              const cutoff = clock.getTime() - o.days * DAY;
              let pruned = 0;
              for (const [s, at] of model)
                if (at !== null && at < cutoff && s < last) {
                  model.delete(s);
                  pruned++;
                }
              expect((await store.pruneAcked(o.days, 3)).pruned).toBe(pruned);
              // Marks under every row left are dropped, but for the latest (it says where acks end).
              const stale = store.db
                .prepare(
                  'SELECT COUNT(*) AS n FROM ack_marks WHERE through_seq < (SELECT MIN(seq) FROM ratings)',
                )
                .get() as { n: number };
              expect(stale.n).toBeLessThanOrEqual(1);
            }
            const unacked = [...model].filter(([, at]) => at === null).map(([s]) => s);
            const acked = [...model].filter(([, at]) => at !== null).map(([s]) => s);
            expect(store.queueStats()).toMatchObject({
              queue_depth: unacked.length,
              last_seq: last,
              last_acked_seq: unacked.length > 0 ? (unacked[0] as number) - 1 : last,
            });
            expect(store.firstUnsentSeq()).toBe(unacked[0] ?? null);
            expect(store.unsentBatch(5).map((r) => r.seq)).toEqual(unacked.slice(0, 5));
            expect(store.unsentJson(5, 2).map((r) => r.seq)).toEqual(
              unacked.filter((s) => s > 2).slice(0, 5),
            );
            const rows = store.db.prepare('SELECT seq FROM ratings ORDER BY seq').all() as { seq: number }[];
            expect(rows.map((r) => r.seq)).toEqual([...model.keys()].sort((a, b) => a - b));
            // Acked rows are a prefix of what is left, so every unacked seq follows every acked one.
            expect(Math.max(0, ...acked) < Math.min(Number.MAX_SAFE_INTEGER, ...unacked)).toBe(true);
          }
        } finally {
          store.close();
        }
      }),
      {
        numRuns: 150,
        examples: [
          // A prune that takes every acked row: the mark under them still says where acks end.
          [
            [
              { kind: 'commit', n: 3 },
              { kind: 'ack', back: 1 },
              { kind: 'days', n: 10 },
              { kind: 'prune', days: 5 },
              { kind: 'ack', back: 0 },
            ],
          ],
          // A rewind past pruned ratings (a hub restored from an old backup), then an ack: only
          // the rows left are newly covered (found by this property in CI).
          [
            [
              { kind: 'commit', n: 1 },
              { kind: 'ack', back: 0 },
              { kind: 'days', n: 2 },
              { kind: 'commit', n: 1 },
              { kind: 'prune', days: 1 },
              { kind: 'rewind', back: 2 },
              { kind: 'ack', back: 0 },
            ],
          ],
          // Acked exactly `days` ago: not yet older than the cutoff.
          [
            [
              { kind: 'commit', n: 2 },
              { kind: 'ack', back: 0 },
              { kind: 'days', n: 5 },
              { kind: 'prune', days: 5 },
            ],
          ],
        ],
      },
    );
  });
});
