import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ClockAnchor, nearestAnchor, nearestInSorted } from '../../src-shared/index.ts';

/** The per-rating definition the hub used before: one query each side, then the nearer. */
function perRating(anchors: readonly ClockAnchor[], mono: number): ClockAnchor | null {
  const below = anchors.filter((a) => a.mono_ms <= mono).sort((a, b) => b.mono_ms - a.mono_ms)[0];
  const above = anchors.filter((a) => a.mono_ms >= mono).sort((a, b) => a.mono_ms - b.mono_ms)[0];
  return nearestAnchor(
    [below, above].filter((a): a is ClockAnchor => a !== undefined),
    mono,
  );
}

describe('nearestInSorted (clock correction of a whole batch)', () => {
  it('picks the nearer neighbour, the earlier on a tie, and an exact match', () => {
    const anchors = [
      { mono_ms: 100, hub_ms: 1 },
      { mono_ms: 200, hub_ms: 2 },
      { mono_ms: 400, hub_ms: 4 },
    ];
    expect(nearestInSorted(anchors, 140)?.hub_ms).toBe(1);
    expect(nearestInSorted(anchors, 150)?.hub_ms).toBe(1);
    expect(nearestInSorted(anchors, 200)?.hub_ms).toBe(2);
    expect(nearestInSorted(anchors, 5)?.hub_ms).toBe(1);
    expect(nearestInSorted(anchors, 9999)?.hub_ms).toBe(4);
    expect(nearestInSorted([], 5)).toBeNull();
  });

  it('chooses exactly what one lookup per rating chose (fast-check)', () => {
    const monos = fc.uniqueArray(fc.integer({ min: 0, max: 10_000 }), { maxLength: 30 });
    fc.assert(
      fc.property(monos, fc.array(fc.integer({ min: -100, max: 10_100 }), { minLength: 1 }), (ms, rows) => {
        const anchors = [...ms].sort((a, b) => a - b).map((m, i) => ({ mono_ms: m, hub_ms: i }));
        for (const mono of rows) expect(nearestInSorted(anchors, mono)).toEqual(perRating(anchors, mono));
      }),
      { numRuns: 1000 },
    );
  });
});
