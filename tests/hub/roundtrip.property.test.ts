import { rm } from 'node:fs/promises';
import fc from 'fast-check';
import { v7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportRatings } from '../../hub/export.ts';
import { parseIngestBody } from '../../hub/ingest-parse.ts';
import { INGEST_BODY_LIMIT } from '../../hub/routes/ingest.ts';
import type { HubStore } from '../../hub/store/types.ts';
import { cutBatch } from '../../src-main/core/sync.ts';
import { type AnyRatingRecord, canonicalJson, ingestBatchSchema } from '../../src-shared/index.ts';
import { anyRecordArb, chainAs } from './arbitraries.ts';
import { makeTempDir, openTestStore } from './harness.ts';
import { verifies } from './records.ts';

let dir: string;
let store: HubStore;
beforeAll(async () => {
  dir = await makeTempDir();
  store = await openTestStore(dir);
});
afterAll(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** The records chained as one fresh device's stream: shrinking replays values, and a seen event_id would be a duplicate. */
function freshStream(deviceId: string, records: AnyRatingRecord[]): AnyRatingRecord[] {
  return chainAs(
    deviceId,
    records.map(() => v7()),
    records,
  );
}

/** Reads the stream's records back from the store: each there once, in order, byte for byte, hash verifying. */
async function expectStoredAsSent(stream: AnyRatingRecord[]): Promise<void> {
  const ids = new Set(stream.map((r) => r.event_id));
  const back = [];
  let after: string | null = null;
  do {
    const page = await store.listRatings({ after, limit: 10_000 });
    back.push(...page.ratings.filter((r) => ids.has(r.event_id)));
    after = page.next;
  } while (after);
  expect(back).toHaveLength(stream.length);
  for (const [i, { received_at: _r, ...record }] of back.entries()) {
    expect(canonicalJson(record)).toBe(canonicalJson(stream[i]));
    expect(verifies(record)).toBe(true);
  }
}

describe('stored records round-trip (property)', () => {
  it('any valid record, current or legacy, stored and read back (and exported) still verifies its hash', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(anyRecordArb, { minLength: 1, maxLength: 4 }), async (records) => {
        const deviceId = `prop-${run++}`;
        const stream = freshStream(deviceId, records);
        // The generator makes only what the contract accepts, as the hub's own parser reads it.
        const batch = ingestBatchSchema.parse({ device_id: deviceId, items: stream });
        const outcome = await store.ingest(batch, new Date('2026-11-27T03:00:00Z'));
        expect(outcome.ok && outcome.stored).toBe(stream.length);
        await expectStoredAsSent(stream);
      }),
      { numRuns: 150 },
    );

    // And through the JSONL export: drop the added keys, the hash verifies.
    const chunks: string[] = [];
    const count = await exportRatings(store, { format: 'jsonl' }, (c) => chunks.push(c));
    const lines = chunks.join('').trimEnd().split('\n');
    expect(lines).toHaveLength(count);
    for (const line of lines) {
      const {
        received_at: _r,
        pad_boot_id: _b,
        pad_press_id: _p,
        rec_version: _v,
        ...record
      } = JSON.parse(line);
      expect(verifies(record)).toBe(true);
    }
    // Generous: on PostgreSQL (hub-postgres project) each of the 150 runs is a networked transaction.
  }, 180_000);

  it('the same through the upload parser, one record a line as the counter sends, with what it tells the store', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(anyRecordArb, { minLength: 1, maxLength: 4 }), async (records) => {
        const deviceId = `lines-${run++}`;
        const stream = freshStream(deviceId, records);
        // The counter's own body (one record a line, gzip). JSON.stringify writes a lone surrogate
        // as a \u escape, as SQLite's json_object does.
        const { body } = cutBatch(
          deviceId,
          stream.map((r) => Buffer.from(JSON.stringify(r))),
          { maxBytes: 1 << 20, maxItems: stream.length, maxRawBytes: 1 << 22 },
        );
        const parsed = parseIngestBody({ body, gzip: true, deadLetters: false, maxBytes: INGEST_BODY_LIMIT });
        if (!parsed.ok) throw new Error(parsed.message);
        const outcome = await store.ingest(parsed.batch, new Date('2026-11-27T03:00:00Z'), {
          hashesVerified: true,
          noLoneSurrogates: parsed.noLoneSurrogates,
        });
        expect(outcome.ok && outcome.stored).toBe(stream.length);
        await expectStoredAsSent(stream);
      }),
      { numRuns: 100 },
    );
  }, 180_000);
});
