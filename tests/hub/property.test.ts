import { rm } from 'node:fs/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asReply, makeTempDir, openTestHub } from './harness.ts';
import { batchOf, makeStream } from './records.ts';

/** Cut points 1..n-1 chosen by the generator turn a stream of n records into consecutive batches. */
function splitIntoBatches(n: number, cuts: number[]): [number, number][] {
  const points = [...new Set(cuts.map((c) => 1 + (c % Math.max(1, n - 1))))]
    .filter((c) => c < n)
    .sort((a, b) => a - b);
  const out: [number, number][] = [];
  let from = 1;
  for (const cut of points) {
    out.push([from, cut]);
    from = cut + 1;
  }
  out.push([from, n]);
  return out;
}

describe('ingest property', () => {
  it('any split of a stream, sent in order with random re-sends of earlier batches, stores each rating exactly once', async () => {
    const dataDir = await makeTempDir();
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 60 }),
          fc.array(fc.nat(), { maxLength: 20 }),
          // After sending batch i, re-send these earlier batches (indices wrap onto 0..i).
          fc.array(fc.array(fc.nat(), { maxLength: 3 }), { maxLength: 25 }),
          async (n, cuts, resends) => {
            const t = await openTestHub({ dataDir: `${dataDir}/run-${run++}` });
            try {
              const stream = makeStream({ count: n, windowId: (i) => `W0${i % 3}` });
              const batches = splitIntoBatches(n, cuts);
              let acked = 0;
              for (const [i, [from, to]] of batches.entries()) {
                const reply = asReply(await t.post(batchOf(stream, from, to)));
                expect(reply.items.every((it) => it.status === 'stored')).toBe(true);
                acked = reply.ack_through_seq;
                expect(acked).toBe(to);
                for (const r of resends[i] ?? []) {
                  const [pf, pt] = batches[r % (i + 1)] ?? [1, 1];
                  const again = asReply(await t.post(batchOf(stream, pf, pt)));
                  expect(again.items.every((it) => it.status === 'duplicate')).toBe(true);
                  expect(again.ack_through_seq).toBe(acked);
                }
              }
              const rows = await t.ratingKeys();
              expect(rows).toEqual(stream.map((r) => ({ event_id: r.event_id, seq: r.seq, hash: r.hash })));
              expect((await t.hub.store.deviceCursor('counter-01'))?.last_seq).toBe(n);
            } finally {
              await t.cleanup();
            }
          },
        ),
        { numRuns: 40 },
      );
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
    // Generous: on PostgreSQL (hub-postgres project) each run migrates a fresh schema.
  }, 180_000);
});
