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

  it('gives the same text whatever order the fields were written in', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 10 }), (d) => {
        const reversed = Object.fromEntries(Object.entries(d).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(d));
      }),
    );
  });
});
