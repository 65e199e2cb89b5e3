import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultCounterConfig } from '../../src-main/core/config.ts';
import { Counter } from '../../src-main/core/counter.ts';
import { receiptCode } from '../../src-main/core/session.ts';
import { backoffDelay, parseRetryAfter } from '../../src-main/core/sync.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-session-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

// A hub that is never reached: these tests are about the session, not sync.
const offline: typeof fetch = async () => {
  throw new Error('offline');
};

function makeCounter() {
  return new Counter({
    dataDir: dir,
    hubUrl: 'http://127.0.0.1:9',
    config: defaultCounterConfig(),
    fetchImpl: offline,
  });
}

describe('counter session', () => {
  it('a pad press with no rating open is recorded, not rated', async () => {
    const c = makeCounter();
    expect(c.handlePadPress({ bootId: 1, pressId: 1, key: 1, uptimeMs: 10 })).toBe(1);
    expect(c.store.queueStats().queue_depth).toBe(0);
    await c.close();
  });

  it('first press wins: later presses are recorded as not a rating', async () => {
    const c = makeCounter();
    c.openRating('C-1');
    expect(c.handlePadPress({ bootId: 1, pressId: 1, key: 2, uptimeMs: 10 })).toBe(0);
    expect(c.session.view().state).toBe('thanks');
    expect(c.handlePadPress({ bootId: 1, pressId: 2, key: 5, uptimeMs: 20 })).toBe(1);
    const [rec] = c.store.unsentBatch(10);
    expect(rec).toMatchObject({
      level: 4,
      case_ref: 'C-1',
      source: 'pad',
      pad: { boot_id: 1, press_id: 1, key: 2 },
    });
    await c.close();
  });

  it('maps keys by the profile: a reversed pad rates key 1 as 非常不满意', async () => {
    const config = {
      ...defaultCounterConfig(),
      key_levels: [1, 2, 3, 4, 5] as [number, number, number, number, number],
    };
    const c = new Counter({ dataDir: dir, hubUrl: 'http://127.0.0.1:9', config, fetchImpl: offline });
    c.openRating(null);
    c.handlePadPress({ bootId: 1, pressId: 1, key: 1, uptimeMs: 10 });
    expect(c.store.unsentBatch(1)[0]?.level).toBe(1);
    await c.close();
  });

  it('a screen rating without an open window is refused with a code', async () => {
    const c = makeCounter();
    expect(() => c.submitScreenRating(5)).toThrow(/no rating window/);
    await c.close();
  });

  it('the rating window times out back to idle', async () => {
    vi.useFakeTimers();
    try {
      const c = makeCounter();
      c.openRating(null);
      vi.advanceTimersByTime(defaultCounterConfig().rating_timeout_s * 1000 + 1);
      expect(c.session.view().state).toBe('idle');
      await c.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('property: whatever the order of opens, cancels and presses, each open window yields at most one rating and presses are never rated twice', async () => {
    const op = fc.oneof(
      fc.constant({ t: 'open' as const }),
      fc.constant({ t: 'cancel' as const }),
      fc.record({
        t: fc.constant('press' as const),
        key: fc.integer({ min: 1, max: 5 }),
        repeat: fc.boolean(),
      }),
      fc.record({ t: fc.constant('touch' as const), level: fc.constantFrom(1, 2, 3, 4, 5) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        rmSync(dir, { recursive: true, force: true });
        dir = mkdtempSync(join(tmpdir(), 'haocha-session-'));
        const c = makeCounter();
        let opens = 0;
        let windowRated = true;
        let maxRatings = 0;
        let pressId = 0;
        for (const o of ops) {
          if (o.t === 'open') {
            c.openRating(null);
            opens++;
            windowRated = false;
          } else if (o.t === 'cancel') {
            c.cancelRating();
            windowRated = true;
          } else if (o.t === 'press') {
            const isRepeat = o.repeat && pressId > 0;
            const id = isRepeat ? pressId : ++pressId;
            const status = c.handlePadPress({ bootId: 9, pressId: id, key: o.key, uptimeMs: 0 });
            if (status === 0 && !isRepeat && !windowRated) {
              windowRated = true;
              maxRatings++;
            }
          } else {
            try {
              c.submitScreenRating(o.level as 1);
              if (!windowRated) maxRatings++;
              windowRated = true;
            } catch {
              // refused: no window open
            }
          }
        }
        const ratings = c.store.unsentBatch(1000);
        expect(ratings.length).toBeLessThanOrEqual(opens);
        expect(ratings.length).toBe(maxRatings);
        const presses = ratings.filter((r) => r.pad).map((r) => r.pad?.press_id);
        expect(new Set(presses).size).toBe(presses.length);
        await c.close();
      }),
      { numRuns: 60 },
    );
  });
});

describe('sync helpers', () => {
  it('receipt codes are short, upper case and stable', () => {
    expect(receiptCode('019ac0de-1234-7abc-8def-0123456789ab')).toBe('4567-89AB');
  });

  it('property: full-jitter backoff stays within [min, max]', () => {
    fc.assert(
      fc.property(
        fc.nat(100),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, r) => {
          const d = backoffDelay(attempt, 1000, 300_000, () => r);
          return d >= 1000 && d <= 300_000;
        },
      ),
    );
  });

  it('reads Retry-After as seconds or a date', () => {
    expect(parseRetryAfter('5')).toBe(5000);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter(new Date(Date.now() + 10_000).toUTCString())).toBeGreaterThan(8000);
    expect(parseRetryAfter('soon')).toBeNull();
  });
});
