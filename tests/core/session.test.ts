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
    expect(() => c.submitScreenRating({ level: 5, reason_timed_out: true })).toThrow(/no rating window/);
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

  // The random-sequence property of the session lives in session-model.test.ts.
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
