import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportRatings } from '../../hub/export.ts';
import type { Counter } from '../../src-main/core/counter.ts';
import { type ClockAnchor, correctedMs, HUB_API, nearestAnchor } from '../../src-shared/index.ts';
import { makeCounter, quietConfig, rate, startTestHub, type TestHub, tempDir, until } from './harness.ts';

const DAY_MS = 86_400_000;

let tmp: ReturnType<typeof tempDir>;
let hub: TestHub;
let counter: Counter | null = null;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(async () => {
  await counter?.close();
  counter = null;
  await hub?.close();
  tmp.cleanup();
});

async function upload(c: Counter) {
  c.sync.start();
  await until(() => c.sync.view().queue_depth === 0, 10_000, 'upload');
  c.sync.stop();
}

/** The hub's stored columns of one rating, derived ones included (the same columns on both engines). */
async function row(eventId: string) {
  const rows = await hub.query<{
    rated_at: string;
    corrected_at: string | null;
    hub_signals: string | null;
    flagged: number;
    signals: string;
  }>('SELECT rated_at, corrected_at, hub_signals, flagged, signals FROM ratings WHERE event_id = ?', [
    eventId,
  ]);
  expect(rows).toHaveLength(1);
  return rows[0] as (typeof rows)[number];
}

function lastEventId(c: Counter): string {
  return (
    c.store.db.prepare('SELECT event_id FROM ratings ORDER BY seq DESC LIMIT 1').get() as { event_id: string }
  ).event_id;
}

describe('clock correction from heartbeat anchors', () => {
  it('a counter whose wall clock is 10 days slow gets ratings with the right time, within a second', async () => {
    hub = await startTestHub(join(tmp.dir, 'hub'));
    counter = makeCounter(join(tmp.dir, 'counter'), hub.url, {
      now: () => new Date(Date.now() - 10 * DAY_MS),
    });

    // Rated and uploaded before any heartbeat: corrected when the first anchor of the boot arrives.
    const trueEarly = Date.now();
    rate(counter, 'C-early');
    const early = lastEventId(counter);
    await upload(counter);
    expect((await row(early)).corrected_at).toBeNull();
    expect(Date.parse((await row(early)).rated_at)).toBeLessThan(trueEarly - 9 * DAY_MS);

    await counter.heartbeat.beat();
    expect(counter.heartbeat.view().last_error).toBeNull();
    expect(Math.abs(Date.parse((await row(early)).corrected_at ?? '') - trueEarly)).toBeLessThan(1000);

    // Rated after the anchor: corrected at ingest.
    await new Promise((r) => setTimeout(r, 300));
    const trueLate = Date.now();
    rate(counter, 'C-late');
    const late = lastEventId(counter);
    await upload(counter);
    expect(Math.abs(Date.parse((await row(late)).corrected_at ?? '') - trueLate)).toBeLessThan(1000);

    // The fleet shows the counter 10 days slow.
    const fleet = (await (await fetch(`${hub.url}/api/fleet`)).json()) as {
      terminals: { clock_offset_ms: number }[];
    };
    expect(fleet.terminals[0]?.clock_offset_ms).toBeLessThan(-10 * DAY_MS + 5000);
    expect(fleet.terminals[0]?.clock_offset_ms).toBeGreaterThan(-10 * DAY_MS - 5000);

    // The record itself is untouched (its hash still verifies in the export); the export carries the corrected time.
    let csv = '';
    await exportRatings(hub.hub.store, { format: 'csv' }, (c) => {
      csv += c;
    });
    const [head, ...lines] = csv.trim().split('\n');
    const col = (head ?? '').split(',').indexOf('corrected_at');
    expect(col).toBeGreaterThan(0);
    expect(lines.map((l) => l.split(',')[col])).toEqual([
      (await row(early)).corrected_at,
      (await row(late)).corrected_at,
    ]);
  });

  it('flags a rating whose corrected time is before its case was accepted (before_accept), and counts it as flagged', async () => {
    hub = await startTestHub(join(tmp.dir, 'hub'));
    // The counter's clock is 2 hours fast, so a case accepted an hour from now looks accepted to it.
    counter = makeCounter(join(tmp.dir, 'counter'), hub.url, {
      now: () => new Date(Date.now() + 2 * 3600_000),
      config: quietConfig(),
    });
    await counter.heartbeat.beat();
    rate(counter, 'C-future', new Date(Date.now() + 3600_000).toISOString());
    const future = lastEventId(counter);
    rate(counter, 'C-past', new Date(Date.now() - 3600_000).toISOString());
    const past = lastEventId(counter);
    rate(counter, 'C-none', null);
    const none = lastEventId(counter);
    await upload(counter);

    expect(await row(future)).toMatchObject({ hub_signals: '["before_accept"]', flagged: 1, signals: '[]' });
    expect(await row(past)).toMatchObject({ hub_signals: null, flagged: 0 });
    expect(await row(none)).toMatchObject({ hub_signals: null, flagged: 0 });
    expect((await row(past)).corrected_at).not.toBeNull();

    const day = (await row(future)).rated_at.slice(0, 10);
    const from = new Date(Date.parse(day) - DAY_MS).toISOString().slice(0, 10);
    const to = new Date(Date.parse(day) + DAY_MS).toISOString().slice(0, 10);
    const stats = (await (await fetch(`${hub.url}${HUB_API}/stats?from=${from}&to=${to}`)).json()) as {
      totals: { flagged: number; total: number };
    };
    expect(stats.totals).toMatchObject({ total: 3, flagged: 1 });

    const rated = (await hub.hub.store.listRatings({})).ratings;
    expect(rated.find((r) => r.event_id === future)?.hub_signals).toEqual(['before_accept']);
    expect(rated.find((r) => r.event_id === past)?.hub_signals).toBeUndefined();
  });
});

describe('correction arithmetic (property)', () => {
  const anchorArb = fc.record({
    mono_ms: fc.double({ min: 0, max: 40 * DAY_MS, noNaN: true }),
    hub_ms: fc.integer({ min: 1_500_000_000_000, max: 2_500_000_000_000 }),
  });

  it('moves the anchor time by exactly the monotonic time elapsed (to the ms)', () => {
    fc.assert(
      fc.property(anchorArb, fc.double({ min: 0, max: 40 * DAY_MS, noNaN: true }), (anchor, mono) => {
        const t = correctedMs(anchor, mono);
        expect(Math.abs(t - (anchor.hub_ms + (mono - anchor.mono_ms)))).toBeLessThanOrEqual(0.5);
        // Order is kept: a later rating in the same boot is never corrected to an earlier time.
        expect(correctedMs(anchor, mono + 1)).toBeGreaterThanOrEqual(t);
      }),
    );
  });

  it('on a drift-free timeline every anchor gives the true time, whatever the counter wall clock says', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_500_000_000_000, max: 2_000_000_000_000 }),
        fc.array(fc.integer({ min: 0, max: 30 * DAY_MS }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 0, max: 30 * DAY_MS }),
        (bootAt, anchorMonos, ratingMono) => {
          const anchors: ClockAnchor[] = anchorMonos.map((m) => ({ mono_ms: m, hub_ms: bootAt + m }));
          const nearest = nearestAnchor(anchors, ratingMono);
          expect(nearest).not.toBeNull();
          expect(correctedMs(nearest as ClockAnchor, ratingMono)).toBe(bootAt + ratingMono);
          // Nearest means nearest: no anchor is closer in monotonic time.
          const d = Math.abs((nearest as ClockAnchor).mono_ms - ratingMono);
          for (const a of anchors) expect(Math.abs(a.mono_ms - ratingMono)).toBeGreaterThanOrEqual(d);
        },
      ),
    );
  });

  it('no anchor, no correction', () => {
    expect(nearestAnchor([], 5)).toBeNull();
  });
});
