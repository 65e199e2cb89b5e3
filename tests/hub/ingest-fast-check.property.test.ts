import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { closed, fastCurrentBatch } from '../../hub/ingest-fast-check.ts';
import { currentIngestBatchSchema, ratingRecordSchema } from '../../src-shared/index.ts';
import { chainAs, currentRecordArb } from './arbitraries.ts';

/**
 * The hub's compiled check of an upload of current records (hub/ingest-fast-check.ts) may only
 * accept what zod's currentIngestBatchSchema accepts, with the same batch; and it must accept
 * every batch a counter sends (anything zod takes but for keys zod would strip), or the hub loses
 * the speed it is for. Damage aims at where a JSON Schema and zod could differ: lengths of texts
 * with characters outside the BMP (and lone surrogates, from the record generator), numbers at their bounds, keys unknown or missing at any depth,
 * values of any JSON type, and the rules across fields.
 */

const TEXT_LIMITS: Record<string, number> = {
  device_id: 64,
  staff_no: 32,
  staff_name: 64,
  window_id: 32,
  hall_id: 32,
  case_ref: 64,
  item_name: 200,
  free_text: 500,
  config_version: 64,
  reason_dict_version: 32,
};

/** Every field of a current record, as the schema names them. */
const FIELDS = Object.keys(ratingRecordSchema.shape);

const tricky = fc.constantFrom<unknown>(
  null,
  0,
  -0,
  -1,
  1,
  1.5,
  2,
  3,
  4,
  5,
  6,
  2 ** 32,
  2 ** 53,
  Number.MAX_SAFE_INTEGER,
  1e308,
  '',
  'x',
  'rated',
  'not_rated',
  'timeout',
  'given',
  '2026-02-29T00:00:00Z',
  '2024-02-29T00:00:00Z',
  '2026-11-27T10:00:00+08:00',
  '2026-11-27 10:00:00Z',
  '2026-11-27T10:00:00',
  [],
  [''],
  ['501', '501'],
  ['no_case'],
  {},
  { promise: 5 },
  { name: null, phone: null },
  true,
  false,
);

type Damage =
  | { kind: 'none' }
  | { kind: 'set'; at: number; field: string; value: unknown }
  | { kind: 'delete'; at: number; field: string }
  | { kind: 'extra_key'; at: number; where: 'record' | 'pad' | 'dimensions' | 'rater' | 'batch' }
  | { kind: 'astral_text'; at: number; field: string; delta: number; halves: boolean }
  | { kind: 'dimension'; at: number; value: unknown };

const damage: fc.Arbitrary<Damage> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'none' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('set' as const),
      at: fc.nat(),
      field: fc.constantFrom(...FIELDS),
      value: fc.oneof(tricky, fc.jsonValue({ maxDepth: 2 })),
    }),
  },
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), field: fc.constantFrom(...FIELDS) }),
  fc.record({
    kind: fc.constant('extra_key' as const),
    at: fc.nat(),
    where: fc.constantFrom(
      'record' as const,
      'pad' as const,
      'dimensions' as const,
      'rater' as const,
      'batch' as const,
    ),
  }),
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('astral_text' as const),
      at: fc.nat(),
      field: fc.constantFrom(...Object.keys(TEXT_LIMITS)),
      delta: fc.integer({ min: -2, max: 2 }),
      halves: fc.boolean(),
    }),
  },
  fc.record({ kind: fc.constant('dimension' as const), at: fc.nat(), value: tricky }),
);

/** The body, and whether it holds a key zod strips rather than refuses (pad is a plain z.object). */
function damaged(
  items: Record<string, unknown>[],
  deviceId: string,
  d: Damage,
): { body: unknown; strippable: boolean } {
  const out = items.map((item) => structuredClone(item));
  const item = 'at' in d ? out[d.at % out.length] : undefined;
  const body: Record<string, unknown> = { device_id: deviceId, items: out };
  let strippable = false;
  if (!item) {
    return { body, strippable };
  }
  switch (d.kind) {
    case 'set':
      item[d.field] = d.value;
      break;
    case 'delete':
      delete item[d.field];
      break;
    case 'extra_key':
      if (d.where === 'record') item.from_a_newer_app = 1;
      else if (d.where === 'batch') body.note = 'x';
      else {
        const inner = item[d.where];
        if (inner !== null && typeof inner === 'object') {
          (inner as Record<string, unknown>).from_a_newer_app = 1;
          strippable = d.where === 'pad';
        }
      }
      break;
    case 'astral_text': {
      // Two UTF-16 units a character: a text at its limit, or just over or under it, counted in
      // code points or in units (zod counts code points; a JSON Schema validator may count either).
      const n = (TEXT_LIMITS[d.field] as number) + d.delta;
      item[d.field] = d.halves ? `${'𠀀'.repeat(Math.floor(n / 2))}${n % 2 ? 'a' : ''}` : '𠀀'.repeat(n);
      break;
    }
    case 'dimension':
      item.dimensions = { attitude: d.value };
      break;
  }
  return { body, strippable };
}

describe('fastCurrentBatch (property)', () => {
  it('accepts only what zod accepts, with the same batch, and every batch zod accepts but would strip', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(
        fc.array(currentRecordArb, { minLength: 1, maxLength: 4 }),
        fc.uniqueArray(fc.uuid({ version: 7 }), { minLength: 4, maxLength: 4 }),
        damage,
        (records, ids, d) => {
          const stream = chainAs('counter-01', ids, records) as unknown as Record<string, unknown>[];
          const { body, strippable } = damaged(stream, 'counter-01', d);
          const zod = currentIngestBatchSchema.safeParse(body);
          const fast = fastCurrentBatch(body);
          if (fast) {
            expect(zod.success).toBe(true);
            expect(fast).toEqual(zod.data);
            accepted++;
          } else {
            expect(zod.success && !strippable).toBe(false);
            refused++;
          }
        },
      ),
      { numRuns: 3000 },
    );
    // Both sides of the property were reached, not only one.
    expect(accepted).toBeGreaterThan(300);
    expect(refused).toBeGreaterThan(300);
  });

  it('closes every object schema, and reads a field named like a keyword as a field', () => {
    const schema = closed({
      type: 'object',
      properties: {
        type: { type: 'string' },
        pad: { anyOf: [{ type: 'object', properties: {} }, { type: 'null' }] },
      },
    });
    expect(schema).toEqual({
      type: 'object',
      properties: {
        type: { type: 'string' },
        pad: { anyOf: [{ type: 'object', properties: {}, additionalProperties: false }, { type: 'null' }] },
      },
      additionalProperties: false,
    });
  });
});
