/** Line corruption for the simulator: deterministic per seed, rate 0 and 1 exact, length kept. */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { corruptBytes, FaultyTransport } from '../../../drivers/sim/faults.ts';
import { seededRandom } from '../../../drivers/sim/pad-simulator.ts';
import { createMemoryPair } from '../../../drivers/transports/memory.ts';

describe('corruptBytes', () => {
  it('property: same seed, same corruption; length kept; rate 0 changes nothing; rate 1 changes every byte', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 500 }),
        fc.integer(),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (b, seed, rate) => {
          const a1 = corruptBytes(b, rate, seededRandom(seed));
          const a2 = corruptBytes(b, rate, seededRandom(seed));
          expect(a1).toEqual(a2);
          expect(a1.length).toBe(b.length);
          expect(corruptBytes(b, 0, seededRandom(seed))).toBe(b);
          const all = corruptBytes(b, 1, seededRandom(seed));
          for (let i = 0; i < b.length; i++) expect(all[i]).not.toBe(b[i]);
        },
      ),
    );
  });

  it('about RATE of the bytes change', () => {
    const b = new Uint8Array(100_000);
    const out = corruptBytes(b, 0.05, seededRandom(1));
    const changed = out.filter((x) => x !== 0).length;
    expect(changed / b.length).toBeGreaterThan(0.045);
    expect(changed / b.length).toBeLessThan(0.055);
  });

  it('FaultyTransport corrupts both directions and counts; refuses a rate outside 0..1', async () => {
    const [a, b] = createMemoryPair();
    const fa = new FaultyTransport(a, { corruptRate: 1, random: seededRandom(3) });
    const got: number[][] = [];
    const gotB: number[][] = [];
    fa.on('data', (d) => got.push([...d]));
    b.on('data', (d) => gotB.push([...d]));
    await fa.open();
    await b.open();
    await fa.write(new Uint8Array([1, 2, 3]));
    await b.write(new Uint8Array([4, 5]));
    await new Promise((r) => setTimeout(r, 0));
    expect(gotB[0]).not.toEqual([1, 2, 3]);
    expect(got[0]).not.toEqual([4, 5]);
    expect(fa.corrupted).toBe(5);
    expect(() => new FaultyTransport(a, { corruptRate: 1.5, random: Math.random })).toThrow(RangeError);
  });
});
