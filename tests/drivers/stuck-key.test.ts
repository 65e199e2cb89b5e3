/** StuckKeyDetector: pure, time passed in. Examples and fast-check properties. */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StuckKeyDetector } from '../../drivers/stuck-key.ts';

const key = fc.integer({ min: 1, max: 5 });
const events = fc.array(
  fc.record({
    gap: fc.integer({ min: 0, max: 4000 }),
    kind: fc.constantFrom('press', 'press', 'press', 'fault'),
    key,
  }),
  { maxLength: 200 },
);

describe('StuckKeyDetector', () => {
  it('a key every 250 ms: rated until 3 s of repeating, suppressed from then on', () => {
    const d = new StuckKeyDetector();
    const stuck = [];
    for (let t = 0; t <= 4000; t += 250) stuck.push(d.press(3, t).stuck);
    expect(stuck.indexOf(true)).toBe(12); // t = 3000
    expect(stuck.slice(12).every(Boolean)).toBe(true);
    expect(d.alarm).toMatchObject({ key: 3, source: 'repeat' });
    expect(d.tick(5999)).toBeUndefined();
    expect(d.tick(6000)).toMatchObject({ key: 3 });
    expect(d.press(3, 6000).stuck).toBe(false);
  });

  it('configurable: 1 s of repeating is stuck', () => {
    const d = new StuckKeyDetector({ stuckAfterMs: 1000 });
    expect([0, 500, 1000].map((t) => d.press(1, t).stuck)).toEqual([false, false, true]);
  });

  it('a gap longer than repeatGapMs starts a new run', () => {
    const d = new StuckKeyDetector();
    const ts = [0, 900, 1800, 2700, 3800, 4700, 5600];
    expect(ts.map((t) => d.press(2, t).stuck)).toEqual(ts.map(() => false));
  });

  it('a fault suppresses every key until 2 s without press or fault', () => {
    const d = new StuckKeyDetector();
    expect(d.fault(0, 'key 4')).toMatchObject({ source: 'fault', key: null });
    expect(d.press(1, 1500).stuck).toBe(true);
    expect(d.press(5, 3000).stuck).toBe(true);
    expect(d.fault(4000, '')).toBeUndefined(); // refreshes, no second alarm
    expect(d.press(5, 6001).stuck).toBe(false);
  });

  it('property: presses further apart than repeatGapMs are never suppressed', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(key, fc.integer({ min: 1001, max: 10_000 }))), (presses) => {
        const d = new StuckKeyDetector();
        let t = 0;
        for (const [k, gap] of presses) {
          t += gap;
          if (d.press(k, t).stuck) return false;
        }
        return d.alarm === null;
      }),
    );
  });

  it('property: never throws; a suppressed press is always of the alarmed key (or any key under a fault)', () => {
    fc.assert(
      fc.property(events, (evs) => {
        const d = new StuckKeyDetector();
        let t = 0;
        for (const e of evs) {
          t += e.gap;
          if (e.kind === 'fault') {
            d.fault(t, 'x');
            continue;
          }
          const v = d.press(e.key, t);
          const alarm = d.alarm;
          if (v.stuck) {
            expect(alarm).not.toBeNull();
            expect(alarm?.key === null || alarm?.key === e.key).toBe(true);
          }
          if (v.raised) expect(v.stuck).toBe(true);
        }
      }),
    );
  });

  it('property: one key held with repeats ≤ 1 s apart is suppressed from 3 s on, and not before', () => {
    fc.assert(
      fc.property(
        key,
        fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 100 }),
        (k, gaps) => {
          const d = new StuckKeyDetector();
          let t = 0;
          expect(d.press(k, t).stuck).toBe(false);
          for (const gap of gaps) {
            t += gap;
            expect(d.press(k, t).stuck).toBe(t >= 3000);
          }
        },
      ),
    );
  });
});
