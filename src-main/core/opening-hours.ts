// CommonJS package: its default export is the API object under Node's ESM loader.
import chineseDays from 'chinese-days';
import { z } from 'zod';

const hhmm = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'must be HH:MM');

/**
 * When the window must be staffed (窗口不空岗). Days follow the official calendar: holidays are
 * closed and make-up workdays (调休) are open, whatever the weekday, via chinese-days.
 * Times are Beijing time (the halls keep it, though Xinjiang's day runs two hours later).
 */
export const openingHoursSchema = z.strictObject({
  /** Open periods on a working day, e.g. [["10:00","14:00"],["16:00","20:00"]]. */
  periods: z.array(z.tuple([hhmm, hhmm])).min(1),
  /** Weekend halls (some convenience halls open Saturday mornings): periods on non-working days. */
  rest_day_periods: z.array(z.tuple([hhmm, hhmm])).default([]),
});
export type OpeningHours = z.infer<typeof openingHoursSchema>;

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
