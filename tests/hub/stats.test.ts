import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { buildStatsReply } from '../../hub/stats.ts';
import type { StatsCountRow } from '../../hub/store/types.ts';
import { shanghaiDay } from '../../hub/time.ts';
import { type Level, statsReplySchema } from '../../src-shared/index.ts';
import { asError, asStats, openTestHub, type TestHub } from './harness.ts';
import { batchOf, makeStream } from './records.ts';

let t: TestHub | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

const counts = (c: Partial<Record<'5' | '4' | '3' | '2' | '1', number>>) => ({
  '5': 0,
  '4': 0,
  '3': 0,
  '2': 0,
  '1': 0,
  ...c,
});

describe('Asia/Shanghai days', () => {
  it.each([
    ['2026-11-26T16:30:00Z', '2026-11-27'],
    ['2026-11-26T15:59:59.999Z', '2026-11-26'],
    ['2026-11-26T16:00:00Z', '2026-11-27'],
    ['2026-11-27T00:10:00+08:00', '2026-11-27'],
    ['2026-11-26T23:59:00-05:00', '2026-11-27'],
    ['2026-12-31T16:00:00Z', '2027-01-01'],
  ])('%s is on %s', (instant, day) => {
    expect(shanghaiDay(instant)).toBe(day);
  });
});

describe('GET /api/v1/stats', () => {
  // Times chosen around the Shanghai midnight between 26 and 27 November (16:00Z).
  const times = [
    '2026-11-26T15:59:59Z', // 26th, W01, level 5
    '2026-11-26T16:00:00Z', // 27th, W02, level 4
    '2026-11-26T16:30:00Z', // 27th, W01, level 3
    '2026-11-27T01:00:00Z', // 27th, W02, level 2
    '2026-11-27T09:00:00+08:00', // 27th, W01, level 1
    '2026-11-27T15:59:59Z', // 27th, W02, level 5
    '2026-11-27T16:00:00Z', // 28th, W01, level 4
  ];
  const levels: Level[] = [5, 4, 3, 2, 1, 5, 4];
  const stream = makeStream({
    count: times.length,
    ratedAt: (i) => times[i] ?? '',
    level: (i) => levels[i] ?? 5,
    windowId: (i) => (i % 2 === 0 ? 'W01' : 'W02'),
  });
  /** Figures of ratings that all have a level, no flags and no defaults. */
  const rates = (good: number) => ({
    not_rated: 0,
    flagged: 0,
    defaults: 0,
    good_rate: good,
    active_good_rate: good,
    not_rated_rate: 0,
  });

  it('counts by level per window per Shanghai day, with totals and 好评率', async () => {
    t = await openTestHub();
    expect((await t.post(batchOf(stream, 1, stream.length))).status).toBe(200);
    const stats = asStats(await t.get('/api/v1/stats?from=2026-11-26&to=2026-11-28'));
    expect(stats.from).toBe('2026-11-26');
    expect(stats.to).toBe('2026-11-28');
    expect(stats.rows).toEqual([
      {
        day: '2026-11-26',
        hall_id: 'H-DIV',
        window_id: 'W01',
        counts: counts({ '5': 1 }),
        total: 1,
        ...rates(1),
      },
      {
        day: '2026-11-27',
        hall_id: 'H-DIV',
        window_id: 'W01',
        counts: counts({ '3': 1, '1': 1 }),
        total: 2,
        ...rates(0),
      },
      {
        day: '2026-11-27',
        hall_id: 'H-DIV',
        window_id: 'W02',
        counts: counts({ '4': 1, '2': 1, '5': 1 }),
        total: 3,
        ...rates(2 / 3),
      },
      {
        day: '2026-11-28',
        hall_id: 'H-DIV',
        window_id: 'W01',
        counts: counts({ '4': 1 }),
        total: 1,
        ...rates(1),
      },
    ]);
    expect(stats.totals).toEqual({
      counts: counts({ '5': 2, '4': 2, '3': 1, '2': 1, '1': 1 }),
      total: 7,
      ...rates(4 / 7),
    });
  });

  it('limits rows to the days asked for', async () => {
    t = await openTestHub();
    await t.post(batchOf(stream, 1, stream.length));
    const day = asStats(await t.get('/api/v1/stats?from=2026-11-27&to=2026-11-27'));
    expect(day.rows.map((r) => r.day)).toEqual(['2026-11-27', '2026-11-27']);
    expect(day.totals.total).toBe(5);
    const none = asStats(await t.get('/api/v1/stats?from=2026-12-01&to=2026-12-02'));
    expect(none.rows).toEqual([]);
    expect(none.totals).toEqual({
      counts: counts({}),
      total: 0,
      not_rated: 0,
      flagged: 0,
      defaults: 0,
      good_rate: null,
      active_good_rate: null,
      not_rated_rate: null,
    });
  });

  it('defaults to today in Asia/Shanghai, and `from` alone runs to today', async () => {
    // 16:30Z on the 26th is already the 27th in Shanghai.
    t = await openTestHub({ now: () => new Date('2026-11-26T16:30:00Z') });
    await t.post(batchOf(stream, 1, stream.length));
    const today = asStats(await t.get('/api/v1/stats'));
    expect([today.from, today.to]).toEqual(['2026-11-27', '2026-11-27']);
    expect(today.totals.total).toBe(5);
    const since = asStats(await t.get('/api/v1/stats?from=2026-11-26'));
    expect([since.from, since.to]).toEqual(['2026-11-26', '2026-11-27']);
    expect(since.totals.total).toBe(6);
  });

  it.each([
    ['?from=2026-13-01', 'query.from'],
    ['?from=yesterday', 'query.from'],
    ['?from=2026-11-05&to=2026-11-01', 'after'],
    ['?from=2024-01-01&to=2026-01-01', 'at most'],
    ['?day=2026-11-01', 'day'],
  ])('rejects %s with 400 BAD_REQUEST', async (query, messagePart) => {
    t = await openTestHub();
    const res = await t.get(`/api/v1/stats${query}`);
    expect(res.status).toBe(400);
    const error = asError(res);
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toContain(messagePart);
  });
});

describe('未评价, flagged ratings and the three rates', () => {
  it('counts 未评价 apart, keeps flagged ratings in the counts, and gives 好评率, 主动评价好评率 and 未评价率', async () => {
    t = await openTestHub();
    // W01: 5, 4, 未评价, 2 (flagged burst), 未评价; W02: legacy 5, 3 (flagged after_staff_action), 未评价 (flagged no_case).
    const w01 = makeStream({
      count: 5,
      level: (i) => ([5, 4, 5, 2, 5] as const)[i] ?? 5,
      outcome: (i) => (i === 2 || i === 4 ? 'not_rated' : 'rated'),
      signals: (i) => (i === 3 ? ['burst'] : []),
    });
    const w02 = makeStream({
      deviceId: 'counter-02',
      count: 3,
      windowId: () => 'W02',
      legacy: (i) => i === 0,
      level: (i) => ([5, 3, 5] as const)[i] ?? 5,
      outcome: (i) => (i === 2 ? 'not_rated' : 'rated'),
      signals: (i) => (i === 1 ? ['after_staff_action'] : i === 2 ? ['no_case'] : []),
    });
    expect((await t.post(batchOf(w01, 1, 5))).status).toBe(200);
    expect((await t.post(batchOf(w02, 1, 3))).status).toBe(200);

    const stats = asStats(await t.get('/api/v1/stats?from=2026-11-27&to=2026-11-27'));
    expect(stats.rows).toEqual([
      {
        day: '2026-11-27',
        hall_id: 'H-DIV',
        window_id: 'W01',
        counts: counts({ '5': 1, '4': 1, '2': 1 }),
        total: 3,
        not_rated: 2,
        flagged: 1,
        defaults: 0,
        good_rate: 2 / 3,
        active_good_rate: 2 / 3,
        not_rated_rate: 2 / 5,
      },
      {
        day: '2026-11-27',
        hall_id: 'H-DIV',
        window_id: 'W02',
        counts: counts({ '5': 1, '3': 1 }),
        total: 2,
        not_rated: 1,
        // The 未评价 with no_case is not a rating: flagged counts ratings only.
        flagged: 1,
        defaults: 0,
        good_rate: 1 / 2,
        active_good_rate: 1 / 2,
        not_rated_rate: 1 / 3,
      },
    ]);
    expect(stats.totals).toEqual({
      counts: counts({ '5': 2, '4': 1, '3': 1, '2': 1 }),
      total: 5,
      not_rated: 3,
      flagged: 2,
      defaults: 0,
      good_rate: 3 / 5,
      active_good_rate: 3 / 5,
      not_rated_rate: 3 / 8,
    });
  });

  it('gives 未评价率 1 and no 好评率 for a window where nobody rated', async () => {
    t = await openTestHub();
    const stream = makeStream({ count: 2, outcome: () => 'not_rated' });
    await t.post(batchOf(stream, 1, 2));
    const { totals } = asStats(await t.get('/api/v1/stats?from=2026-11-27&to=2026-11-27'));
    expect(totals).toMatchObject({
      total: 0,
      not_rated: 2,
      good_rate: null,
      active_good_rate: null,
      not_rated_rate: 1,
    });
  });
});

describe('buildStatsReply (property)', () => {
  const row = fc.record({
    day: fc.constantFrom('2026-11-26', '2026-11-27'),
    hall_id: fc.constantFrom('H1', 'H2'),
    window_id: fc.constantFrom('W1', 'W2', 'W3'),
    outcome: fc.constantFrom('rated' as const, 'not_rated' as const),
    level: fc.constantFrom<Level>(5, 4, 3, 2, 1),
    flagged: fc.boolean(),
    is_default: fc.boolean(),
    count: fc.integer({ min: 1, max: 1000 }),
  });

  it('totals are the sums of the rows, rates stay in 0..1, and defaults only move 主动评价好评率', () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 40 }), (raw) => {
        const rows: StatsCountRow[] = raw.map((r) =>
          r.outcome === 'not_rated' ? { ...r, level: null, is_default: false } : r,
        );
        const reply = buildStatsReply('2026-11-26', '2026-11-27', rows);
        const sum = (pick: (r: (typeof reply.rows)[number]) => number) =>
          reply.rows.reduce((s, r) => s + pick(r), 0);
        const t = reply.totals;
        expect(t.total).toBe(sum((r) => r.total));
        expect(t.not_rated).toBe(sum((r) => r.not_rated));
        expect(t.flagged).toBe(sum((r) => r.flagged));
        expect(t.defaults).toBe(sum((r) => r.defaults));
        for (const l of ['5', '4', '3', '2', '1'] as const) expect(t.counts[l]).toBe(sum((r) => r.counts[l]));
        expect(t.total + t.not_rated).toBe(rows.reduce((s, r) => s + r.count, 0));
        for (const f of [...reply.rows, t]) {
          expect(f.flagged).toBeLessThanOrEqual(f.total);
          expect(f.defaults).toBeLessThanOrEqual(f.total);
          for (const rate of [f.good_rate, f.active_good_rate, f.not_rated_rate]) {
            if (rate !== null) expect(rate >= 0 && rate <= 1).toBe(true);
          }
          expect(f.good_rate === null).toBe(f.total === 0);
          expect(f.active_good_rate === null).toBe(f.total - f.defaults === 0);
          if (f.defaults === 0) expect(f.active_good_rate).toBe(f.good_rate);
        }
        expect(statsReplySchema.safeParse(reply).success).toBe(true);
      }),
    );
  });
});
