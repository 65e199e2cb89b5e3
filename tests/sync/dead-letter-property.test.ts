import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readIngestBatch } from '../../hub/ingest-rules.ts';
import { type AnyRatingRecord, GENESIS_HASH } from '../../src-shared/index.ts';
import { openTestStore } from '../hub/harness.ts';
import { makeStream, seal } from '../hub/records.ts';
import { testTmp } from './harness.ts';

/** A valid stream in which the items at `unreadable` carry a field the hub does not know, hashes and chain intact. */
function streamWith(count: number, unreadable: Set<number>): Record<string, unknown>[] {
  let prev = GENESIS_HASH;
  return makeStream({ count }).map((record, i) => {
    const { hash: _old, ...body } = { ...record, prev_hash: prev } as Record<string, unknown>;
    if (unreadable.has(i + 1)) body.from_a_newer_app = { mood: 'sunny' };
    const sealed = seal(body as unknown as Omit<AnyRatingRecord, 'hash'>) as unknown as Record<
      string,
      unknown
    >;
    prev = sealed.hash as string;
    return sealed;
  });
}

describe('dead letters at the hub (property)', () => {
  it('any stream, any unreadable items, any batching with resends: readable ones stored, unreadable ones dead-lettered, cursor at the end', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 30 }).chain((n) =>
          fc.record({
            n: fc.constant(n),
            unreadable: fc.uniqueArray(fc.integer({ min: 1, max: n }), { maxLength: n }),
            cuts: fc.uniqueArray(fc.integer({ min: 1, max: n }), { maxLength: 8 }),
            resend: fc.array(fc.nat(), { maxLength: 3 }),
          }),
        ),
        async ({ n, unreadable, cuts, resend }) => {
          const bad = new Set(unreadable);
          const stream = streamWith(n, bad);
          const bounds = [...new Set([0, ...cuts.filter((c) => c < n), n])].sort((a, b) => a - b);
          const batches = bounds.slice(1).map((to, k) => stream.slice(bounds[k], to));
          // Resends of earlier batches (a lost reply), interleaved after the batch they repeat.
          const order: Record<string, unknown>[][] = [];
          batches.forEach((b, k) => {
            order.push(b);
            for (const r of resend) if (r % batches.length === k) order.push(b);
          });
          const dir = mkdtempSync(join(testTmp(), 'haocha-dlprop-'));
          // SQLite in dir, or a fresh PostgreSQL schema per run (project hub-postgres).
          const store = await openTestStore(dir);
          try {
            const seen = new Map<number, string>();
            for (const items of order) {
              const read = readIngestBatch({ device_id: 'counter-01', items }, true);
              expect(read.ok).toBe(true);
              if (!read.ok) return;
              const outcome = await store.ingest(read.batch, new Date());
              expect(outcome.ok).toBe(true);
              if (!outcome.ok) return;
              expect(outcome.reply.ack_through_seq).toBe(items.at(-1)?.seq);
              for (const item of outcome.reply.items) {
                // dead_letter exactly for the unreadable items, every time they are sent.
                expect(item.status === 'dead_letter').toBe(bad.has(item.seq));
                if (item.status === 'dead_letter') expect(item.reason).toContain('from_a_newer_app');
                seen.set(item.seq, item.status);
              }
            }
            expect([...seen.keys()].sort((a, b) => a - b)).toEqual(
              Array.from({ length: n }, (_, i) => i + 1),
            );
            const page = await store.listRatings({ limit: 1000 });
            expect(page.ratings.map((r) => r.seq)).toEqual(
              Array.from({ length: n }, (_, i) => i + 1).filter((s) => !bad.has(s)),
            );
            if (!store.listDeadLetters) throw new Error('this engine keeps no dead letters');
            const dead = await store.listDeadLetters({});
            expect(dead.dead_letters.map((d) => d.seq)).toEqual([...bad].sort((a, b) => a - b));
            expect((await store.summary()).dead_letters).toBe(bad.size);
            expect(await store.deviceCursor('counter-01')).toMatchObject({ last_seq: n });
          } finally {
            await store.close();
            rmSync(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
