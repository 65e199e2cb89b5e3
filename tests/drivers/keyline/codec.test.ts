/** KEYLINE decoder: named hazards and fast-check properties (any chunking, any garbage). */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeKeyLine,
  KeylineDecoder,
  type KeylineKey,
  MAX_LINE,
  parseKeyLine,
} from '../../../drivers/keyline/codec.ts';
import { concat, splitAt } from '../evp1/arbitraries.ts';

const ascii = (s: string) => new TextEncoder().encode(s);
const decodeAll = (chunks: Uint8Array[]) => {
  const d = new KeylineDecoder();
  const keys = chunks.flatMap((c) => d.push(c));
  return { keys, d };
};

const keyArb = fc.constantFrom<KeylineKey>(1, 2, 3, 4, 5);
/** A junk line: any bytes without LF that do not parse as a key. */
const junkLine = fc
  .uint8Array({ maxLength: 80 })
  .map((b) => b.filter((x) => x !== 0x0a))
  .filter((b) => parseKeyLine(b) === null);
const cutsArb = fc.array(fc.nat(), { maxLength: 20 });

describe('KEYLINE codec', () => {
  it('K1..K5 with CRLF', () => {
    expect(decodeAll([ascii('K1\r\nK2\r\nK3\r\nK4\r\nK5\r\n')]).keys).toEqual([1, 2, 3, 4, 5]);
  });

  it('LF only is tolerated', () => {
    expect(decodeAll([ascii('K4\nK2\n')]).keys).toEqual([4, 2]);
  });

  it('a line split across chunks, byte by byte', () => {
    const bytes = ascii('K3\r\n');
    expect(decodeAll(Array.from(bytes, (b) => new Uint8Array([b]))).keys).toEqual([3]);
  });

  it('junk lines are ignored and counted: K6, k1, K12, " K1", K1 with two CRs, empty lines', () => {
    const { keys, d } = decodeAll([ascii('K6\r\nk1\r\nK12\r\n K1\r\nK1\r\r\n\r\n\nK5\r\n')]);
    expect(keys).toEqual([5]);
    expect(d.counters).toMatchObject({ lines: 8, keys: 1, junkLines: 7 });
  });

  it('an unfinished line is held, not emitted', () => {
    const d = new KeylineDecoder();
    expect(d.push(ascii('K2\r'))).toEqual([]);
    expect(d.buffered).toBe(3);
    expect(d.push(ascii('\n'))).toEqual([2]);
  });

  it('a very long line is junk and the buffer stays bounded', () => {
    const d = new KeylineDecoder();
    d.push(new Uint8Array(10_000).fill(0x4b));
    expect(d.buffered).toBeLessThanOrEqual(MAX_LINE);
    expect(d.push(ascii('\nK1\n'))).toEqual([1]);
    expect(d.counters.droppedBytes).toBe(10_001);
  });

  it('encodeKeyLine refuses key 6', () => {
    expect(() => encodeKeyLine(6 as KeylineKey)).toThrow(RangeError);
  });

  it('property: any bytes in any chunking never throw, keep the buffer bounded, and give the same keys', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), cutsArb, (bytes, cuts) => {
        const whole = decodeAll([bytes]);
        const chunked = decodeAll(splitAt(bytes, cuts));
        expect(chunked.keys).toEqual(whole.keys);
        expect(chunked.d.buffered).toBeLessThanOrEqual(MAX_LINE);
        const lfs = bytes.filter((b) => b === 0x0a).length;
        expect(whole.keys.length).toBeLessThanOrEqual(lfs);
        expect(whole.d.counters.lines).toBe(lfs);
      }),
    );
  });

  it('property: valid lines among junk lines are all found, in order, in any chunking', () => {
    const item = fc.oneof(
      fc.record({ key: keyArb, crlf: fc.boolean() }),
      junkLine.map((junk) => ({ junk })),
    );
    fc.assert(
      fc.property(fc.array(item, { maxLength: 60 }), cutsArb, (items, cuts) => {
        const parts: Uint8Array[] = [];
        const expected: KeylineKey[] = [];
        for (const it of items) {
          if ('key' in it) {
            parts.push(it.crlf ? encodeKeyLine(it.key) : ascii(`K${it.key}\n`));
            expected.push(it.key);
          } else {
            parts.push(it.junk, ascii('\n'));
          }
        }
        const { keys, d } = decodeAll(splitAt(concat(parts), cuts));
        expect(keys).toEqual(expected);
        expect(d.counters.junkLines).toBe(items.length - expected.length);
      }),
    );
  });
});
