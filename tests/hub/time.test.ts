import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shanghaiDay } from '../../hub/time.ts';

const reference = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

describe('shanghaiDay (cached by UTC hour)', () => {
  it('gives the Asia/Shanghai date around midnight and across the 1986–1991 summer time', () => {
    expect(shanghaiDay('2026-11-26T15:59:59.999Z')).toBe('2026-11-26');
    expect(shanghaiDay('2026-11-26T16:00:00.000Z')).toBe('2026-11-27');
    // 1988-07-01 had summer time (+09:00): 15:00Z is midnight there.
    expect(shanghaiDay('1988-07-01T14:59:59.999Z')).toBe('1988-07-01');
    expect(shanghaiDay('1988-07-01T15:00:00.000Z')).toBe('1988-07-02');
    expect(() => shanghaiDay('not a time')).toThrow(RangeError);
  });

  it('matches Intl for any instant, whatever was cached before (fast-check)', () => {
    const instant = fc.integer({ min: Date.UTC(1890, 0, 1), max: Date.UTC(2100, 0, 1) });
    fc.assert(
      fc.property(fc.array(instant, { minLength: 1, maxLength: 20 }), (times) => {
        for (const ms of times) {
          // Also the instants either side of the hour this one falls in: the cache's edges.
          for (const t of [ms, ms - (ms % 3_600_000), ms - (ms % 3_600_000) - 1]) {
            expect(shanghaiDay(new Date(t))).toBe(reference.format(new Date(t)));
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
