/**
 * Calendar days in the division's time zone. Stats and "today" are Asia/Shanghai days whatever
 * the server's TZ is; Intl (full ICU in Node) rather than a fixed +08:00 keeps history correct.
 */
const HUB_TIME_ZONE = 'Asia/Shanghai';

const dayFormat = new Intl.DateTimeFormat('en-CA', {
  timeZone: HUB_TIME_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

/**
 * Days by UTC hour: every stored rating asks for its day, and formatToParts is the costly part.
 * Since 1901 Asia/Shanghai's offsets are whole hours and change on the hour, so every instant of
 * one UTC hour has the same Shanghai date; earlier instants (local mean time) are not cached.
 */
const dayByHour = new Map<number, string>();
const CACHE_FROM_MS = Date.UTC(1902, 0, 1);

/** The Asia/Shanghai calendar date (YYYY-MM-DD) of an instant. Throws RangeError on an invalid time. */
export function shanghaiDay(instant: Date | string): string {
  const date = typeof instant === 'string' ? new Date(instant) : instant;
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new RangeError(`not a valid time: ${String(instant)}`);
  const hour = Math.floor(ms / 3_600_000);
  const cached = ms >= CACHE_FROM_MS ? dayByHour.get(hour) : undefined;
  if (cached !== undefined) return cached;
  const day = formatDay(date);
  if (ms >= CACHE_FROM_MS) {
    // Bounded: a year of hours; an odd spread of times only costs recomputation.
    if (dayByHour.size >= 8760) dayByHour.clear();
    dayByHour.set(hour, day);
  }
  return day;
}

function formatDay(date: Date): string {
  const parts = dayFormat.formatToParts(date);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}

/** Whole days from `from` to `to` (YYYY-MM-DD), negative when `to` is earlier. */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}
