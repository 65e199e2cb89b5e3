import { LEVELS, type LevelCounts, type StatsReply } from '../src-shared/index.ts';
import type { LevelCountRow } from './store/types.ts';

/** 好评率: share of 非常满意 + 满意 (levels 5 and 4) among all ratings; null when there are none. */
export function goodRate(counts: LevelCounts): number | null {
  const total = countTotal(counts);
  return total === 0 ? null : (counts['5'] + counts['4']) / total;
}

export function countTotal(counts: LevelCounts): number {
  return LEVELS.reduce((sum, level) => sum + counts[level], 0);
}

function emptyCounts(): LevelCounts {
  return { '5': 0, '4': 0, '3': 0, '2': 0, '1': 0 };
}

/** Folds per-level counts into one row per day, hall and window, plus totals (the stats wire reply). */
export function buildStatsReply(from: string, to: string, rows: readonly LevelCountRow[]): StatsReply {
  const byPlace = new Map<string, { day: string; hall_id: string; window_id: string; counts: LevelCounts }>();
  const totals = emptyCounts();
  for (const row of rows) {
    const key = JSON.stringify([row.day, row.hall_id, row.window_id]);
    let place = byPlace.get(key);
    if (!place) {
      place = { day: row.day, hall_id: row.hall_id, window_id: row.window_id, counts: emptyCounts() };
      byPlace.set(key, place);
    }
    place.counts[row.level] += row.count;
    totals[row.level] += row.count;
  }
  const out = [...byPlace.values()]
    .sort(
      (a, b) => compare(a.day, b.day) || compare(a.hall_id, b.hall_id) || compare(a.window_id, b.window_id),
    )
    .map((p) => ({ ...p, total: countTotal(p.counts), good_rate: goodRate(p.counts) }));
  return {
    from,
    to,
    rows: out,
    totals: { counts: totals, total: countTotal(totals), good_rate: goodRate(totals) },
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
