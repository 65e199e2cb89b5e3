import { LEVELS, type LevelCounts, type StatsFigures, type StatsReply } from '../src-shared/index.ts';
import type { StatsCountRow } from './store/types.ts';

/** 好评率: share of 非常满意 + 满意 (levels 5 and 4) among ratings with a level; null when there are none. */
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

/** What the figures are computed from: level counts of all ratings and of default ones apart. */
interface Tally {
  counts: LevelCounts;
  defaultCounts: LevelCounts;
  notRated: number;
  flagged: number;
}

function emptyTally(): Tally {
  return { counts: emptyCounts(), defaultCounts: emptyCounts(), notRated: 0, flagged: 0 };
}

function add(tally: Tally, row: StatsCountRow): void {
  if (row.outcome === 'not_rated' || row.level === null) {
    tally.notRated += row.count;
    return;
  }
  tally.counts[row.level] += row.count;
  if (row.is_default) tally.defaultCounts[row.level] += row.count;
  // A flagged rating is still the citizen's rating: counted above, and shown beside.
  if (row.flagged) tally.flagged += row.count;
}

/** The indicators of domain.md ("Standards and indicators") from one tally. */
function figures(tally: Tally): StatsFigures {
  const total = countTotal(tally.counts);
  const active = emptyCounts();
  for (const level of LEVELS) active[level] = tally.counts[level] - tally.defaultCounts[level];
  const decided = total + tally.notRated;
  return {
    counts: tally.counts,
    total,
    not_rated: tally.notRated,
    flagged: tally.flagged,
    defaults: countTotal(tally.defaultCounts),
    good_rate: goodRate(tally.counts),
    // 主动评价好评率: the same share over the ratings the citizen actually gave (defaults left out).
    active_good_rate: goodRate(active),
    not_rated_rate: decided === 0 ? null : tally.notRated / decided,
  };
}

/** Folds the store's counts into one row per day, hall and window, plus totals (the stats wire reply). */
export function buildStatsReply(from: string, to: string, rows: readonly StatsCountRow[]): StatsReply {
  const byPlace = new Map<string, { day: string; hall_id: string; window_id: string; tally: Tally }>();
  const totals = emptyTally();
  for (const row of rows) {
    const key = JSON.stringify([row.day, row.hall_id, row.window_id]);
    let place = byPlace.get(key);
    if (!place) {
      place = { day: row.day, hall_id: row.hall_id, window_id: row.window_id, tally: emptyTally() };
      byPlace.set(key, place);
    }
    add(place.tally, row);
    add(totals, row);
  }
  const out = [...byPlace.values()]
    .sort(
      (a, b) => compare(a.day, b.day) || compare(a.hall_id, b.hall_id) || compare(a.window_id, b.window_id),
    )
    .map(({ tally, ...place }) => ({ ...place, ...figures(tally) }));
  return { from, to, rows: out, totals: figures(totals) };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
