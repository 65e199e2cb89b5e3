import { afterEach, describe, expect, it } from 'vitest';
import { shanghaiDay } from '../../hub/time.ts';
import type { Level } from '../../src-shared/index.ts';
import { asError, asStats, openTestHub, type TestHub } from './harness.ts';
import { batchOf, makeStream } from './records.ts';

let t: TestHub | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
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
  const counts = (c: Partial<Record<'5' | '4' | '3' | '2' | '1', number>>) => ({
    '5': 0,
    '4': 0,
    '3': 0,
    '2': 0,
    '1': 0,
    ...c,
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
