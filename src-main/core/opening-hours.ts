// CommonJS package: its default export is the API object under Node's ESM loader.
import chineseDays from 'chinese-days';

// The schema is part of the hub's config bundle contract, so it lives in src-shared.
import { type OpeningHours, openingHoursSchema } from '../../src-shared/config-bundle.ts';

export { type OpeningHours, openingHoursSchema };

export const DEFAULT_OPENING_HOURS: OpeningHours = {
  periods: [
    ['10:00', '14:00'],
    ['16:00', '19:30'],
  ],
  rest_day_periods: [],
};

const BEIJING_MS = 8 * 3600_000;

/** The Beijing calendar date (YYYY-MM-DD) and minute of day of an instant. */
export function beijingDay(at: Date): { day: string; minute: number } {
  const local = new Date(at.getTime() + BEIJING_MS);
  return {
    day: local.toISOString().slice(0, 10),
    minute: local.getUTCHours() * 60 + local.getUTCMinutes(),
  };
}

function minutes(t: string): number {
  return Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));
}

export function isOpenAt(hours: OpeningHours, at: Date): boolean {
  const { day, minute } = beijingDay(at);
  let working: boolean;
  try {
    working = chineseDays.isWorkday(day);
  } catch {
    // Outside the years the calendar knows: fall back to Monday–Friday.
    const wd = new Date(`${day}T00:00:00Z`).getUTCDay();
    working = wd >= 1 && wd <= 5;
  }
  const periods = working ? hours.periods : hours.rest_day_periods;
  return periods.some(([from, to]) => minute >= minutes(from) && minute < minutes(to));
}
