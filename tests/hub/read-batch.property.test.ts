import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readIngestBatch } from '../../hub/ingest-rules.ts';
import { ingestBatchSchema } from '../../src-shared/index.ts';
import { anyRecordArb, chainAs } from './arbitraries.ts';

/**
 * readIngestBatch checks a batch of current records against the record schema directly
 * (currentIngestBatchSchema) before the full ingestBatchSchema, which chooses each item's shape.
 * Whatever the body, the answer must be the full schema's: the same batch when it accepts, its
 * error when it refuses.
 */

/** Ways a batch can go wrong, each of which one of the two schemas must catch. */
type Damage =
  | { kind: 'none' }
  | { kind: 'drop_outcome'; at: number }
  | { kind: 'extra_key'; at: number }
  | { kind: 'bad_value'; at: number; field: string; value: unknown }
  | { kind: 'other_device'; at: number }
  | { kind: 'seq_gap'; at: number }
  | { kind: 'not_object'; at: number; value: unknown }
  | { kind: 'batch_extra_key' }
  | { kind: 'empty' };

const damage: fc.Arbitrary<Damage> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'none' as const }) },
  fc.record({ kind: fc.constant('drop_outcome' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extra_key' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('bad_value' as const),
    at: fc.nat(),
    field: fc.constantFrom('level', 'seq', 'rated_at', 'reasons', 'pad', 'signals', 'anonymous', 'hash'),
    value: fc.constantFrom(null, 0, -1, 'x', '', [], {}, true, [1], 1.5),
  }),
  fc.record({ kind: fc.constant('other_device' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('seq_gap' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('not_object' as const),
    at: fc.nat(),
    value: fc.constantFrom(null, 1, 'r', [] as unknown[]),
  }),
  fc.constant({ kind: 'batch_extra_key' as const }),
  fc.constant({ kind: 'empty' as const }),
);

function damaged(items: Record<string, unknown>[], d: Damage): Record<string, unknown> {
  const out: unknown[] = items.map((item) => ({ ...item }));
  const at = 'at' in d ? d.at % Math.max(1, out.length) : 0;
  const item = out[at] as Record<string, unknown> | undefined;
  const body: Record<string, unknown> = { device_id: 'counter-01', items: out };
  switch (d.kind) {
    case 'drop_outcome':
      if (item) delete item.outcome;
      break;
    case 'extra_key':
      if (item) item.from_a_newer_app = 1;
      break;
    case 'bad_value':
      if (item) item[d.field] = d.value;
      break;
    case 'other_device':
      if (item) item.device_id = 'counter-02';
      break;
    case 'seq_gap':
      if (item) item.seq = (item.seq as number) + 2;
      break;
    case 'not_object':
      out[at] = d.value;
      break;
    case 'batch_extra_key':
      body.note = 'x';
      break;
    case 'empty':
      body.items = [];
      break;
  }
  return body;
}

describe('readIngestBatch (property)', () => {
  it('answers every body as the full batch schema does: the same batch, or its error', () => {
    fc.assert(
      fc.property(
        fc.array(anyRecordArb, { minLength: 1, maxLength: 6 }),
        fc.uniqueArray(fc.uuid({ version: 7 }), { minLength: 6, maxLength: 6 }),
        damage,
        (records, ids, d) => {
          const stream = chainAs('counter-01', ids, records) as unknown as Record<string, unknown>[];
          const body = damaged(stream, d);
          const full = ingestBatchSchema.safeParse(body);
          const read = readIngestBatch(body, false);
          expect(read.ok).toBe(full.success);
          if (read.ok && full.success) expect(read.batch).toEqual(full.data);
          if (!read.ok && !full.success) expect(read.error.issues).toEqual(full.error.issues);
        },
      ),
      { numRuns: 500 },
    );
  });
});
