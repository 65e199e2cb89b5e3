import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, chainInput } from '../../src-shared/chain.ts';

/** The obvious definition the fast one must match: keys sorted at every depth, undefined dropped. */
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${reference(v)}`).join(',')}}`;
}

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { y: 1, x: 0 }], c: undefined } })).toBe(
      '{"a":{"d":[2,{"x":0,"y":1}]},"b":1}',
    );
    expect(canonicalJson({ 评: '差', '\u{1F600}': 1, Z: 2, a: 3 })).toBe('{"Z":2,"a":3,"评":"差","😀":1}');
  });

  it('matches the reference definition for any JSON-like value (fast-check)', () => {
    const key = fc.oneof(
      fc.string(),
      // Keys the engine's own JSON.stringify would order or treat differently (integer-like,
      // __proto__, toJSON): the fast path must hand these to the field-by-field text.
      fc.constantFrom(
        'seq',
        'level',
        'hash',
        '__proto__x',
        '',
        '__proto__',
        'toJSON',
        '0',
        '10',
        '2',
        '4294967295',
        '1a',
      ),
      fc.string({ unit: 'binary' }),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.constant(undefined),
        fc.boolean(),
        fc.double(),
        fc.integer(),
        fc.string({ unit: 'binary' }),
        fc.array(tie('node'), { maxLength: 5 }),
        fc.dictionary(key, tie('node'), { maxKeys: 6, noNullPrototype: false }),
      ),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        expect(canonicalJson(v)).toBe(reference(v));
      }),
      { numRuns: 2000 },
    );
    // The record hash input: the same text without the top-level `hash` (nested ones stay).
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 8 }), (d) => {
        const { hash: _dropped, ...rest } = d;
        expect(chainInput(d as never)).toBe(reference(rest));
      }),
      { numRuns: 2000 },
    );
  });

  it('matches the reference through the copy compiled for a shape seen again (fast-check)', () => {
    // Records of one shape share a compiled copy (src-shared/chain.ts, compileCopy): draw a key list,
    // then several objects with exactly those keys, so the second one onward takes it. Members
    // include what makes a copy unfit (a function, a symbol) and nested objects of shared shapes.
    const key = fc.oneof(
      fc.constantFrom('seq', 'hash', 'pad', 'a', '_x', '$y', '__proto__', 'toJSON', '0', '10', 'constructor'),
      fc.stringMatching(/^[A-Za-z_$][A-Za-z0-9_$]{0,8}$/),
      fc.string(),
    );
    const nested = fc.oneof(
      fc.record({ boot_id: fc.integer(), press_id: fc.integer(), key: fc.integer() }),
      fc.record({ b: fc.option(fc.string()), a: fc.array(fc.string(), { maxLength: 3 }) }),
    );
    const member = fc.oneof(
      { weight: 6, arbitrary: fc.jsonValue() },
      { weight: 2, arbitrary: nested },
      { weight: 1, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.constant(() => 1) },
      { weight: 1, arbitrary: fc.constant(Symbol('s')) },
    );
    const width = 12;
    fc.assert(
      fc.property(
        fc.uniqueArray(key, { maxLength: width }),
        fc.array(fc.array(member, { minLength: width, maxLength: width }), { minLength: 2, maxLength: 4 }),
        (keys, rows) => {
          for (const row of rows) {
            const d = Object.fromEntries(keys.map((k, i) => [k, row[i]]));
            expect(canonicalJson(d)).toBe(reference(d));
            const { hash: _dropped, ...rest } = d;
            expect(chainInput(d as never)).toBe(reference(rest));
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('gives the same text whatever order the fields were written in', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 10 }), (d) => {
        const reversed = Object.fromEntries(Object.entries(d).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(d));
      }),
    );
  });
});
