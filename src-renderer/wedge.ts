import { type Level, levelFromStandardKey } from '../src-shared/levels.ts';

/**
 * HID keyboard-wedge pads (issue 4 item 2): some evaluator pads are USB keyboards that type a key
 * per button instead of speaking EVP/1. The citizen screen maps those keys to pad positions
 * (1 = leftmost = 非常满意 … 5 = rightmost = 非常不满意, the physical order of pad-protocol.md) and
 * positions to levels with the standard profile, so a wedge press is exactly a tap on that level.
 *
 * Only while a rating is open (the screen checks `rating_open`); outside it the keys are swallowed
 * and do nothing (F5 would otherwise reload the page, F1 open help).
 *
 * A level chosen by a wedge key is sent with `source: 'wedge'`, so the record tells it from a tap.
 */

/** `KeyboardEvent.key` → pad position 1..5. */
export type WedgeKeyMap = Readonly<Record<string, 1 | 2 | 3 | 4 | 5>>;

/** Default: F1 = key 1 (leftmost, 非常满意) … F5 = key 5 (非常不满意). */
export const DEFAULT_WEDGE_KEYS: WedgeKeyMap = { F1: 1, F2: 2, F3: 3, F4: 4, F5: 5 };

/**
 * A map written as the five keys left to right, comma-separated (`F1,F2,F3,F4,F5`; a pad wired the
 * other way round is `F5,F4,F3,F2,F1`), or `off`. Anything malformed gives the default, so a typo in
 * a terminal's address never leaves a wedge pad dead without the default being tried.
 */
export function parseWedgeMap(spec: string | null | undefined): WedgeKeyMap {
  if (spec == null || spec.trim() === '') return DEFAULT_WEDGE_KEYS;
  if (spec.trim().toLowerCase() === 'off') return {};
  const keys = spec.split(',').map((k) => k.trim());
  if (keys.length !== 5 || keys.some((k) => k === '') || new Set(keys).size !== 5) return DEFAULT_WEDGE_KEYS;
  const map: Record<string, 1 | 2 | 3 | 4 | 5> = {};
  keys.forEach((key, i) => {
    map[key] = (i + 1) as 1 | 2 | 3 | 4 | 5;
  });
  return map;
}

/** The map asked for by `?wedge=` in the page's query or hash route; the default otherwise. */
export function wedgeMapFromLocation(loc: Pick<Location, 'search' | 'hash'>): WedgeKeyMap {
  const hashQuery = loc.hash.includes('?') ? loc.hash.slice(loc.hash.indexOf('?') + 1) : '';
  const asked = new URLSearchParams(hashQuery).get('wedge') ?? new URLSearchParams(loc.search).get('wedge');
  return parseWedgeMap(asked);
}

/** Is this key one of the pad's? (Swallowed whatever the state.) */
export function isWedgeKey(key: string, map: WedgeKeyMap = DEFAULT_WEDGE_KEYS): boolean {
  return Object.hasOwn(map, key);
}

/** The level a wedge key stands for, or null for any other key. */
export function levelFromWedgeKey(key: string, map: WedgeKeyMap = DEFAULT_WEDGE_KEYS): Level | null {
  if (!Object.hasOwn(map, key)) return null;
  const position = map[key];
  return position === undefined ? null : levelFromStandardKey(position);
}

export interface WedgeKeyEvent {
  key: string;
  repeat: boolean;
  altKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
}

/**
 * What a keydown means: `ignore` (not a pad key, or with a modifier), `swallow` (a pad key that must
 * do nothing now: outside rating_open, or a held key's auto-repeat, which a stuck key would send),
 * or `rate` with the level.
 */
export function wedgeAction(
  e: WedgeKeyEvent,
  ratingOpen: boolean,
  map: WedgeKeyMap = DEFAULT_WEDGE_KEYS,
): { kind: 'ignore' } | { kind: 'swallow' } | { kind: 'rate'; level: Level } {
  if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return { kind: 'ignore' };
  const level = levelFromWedgeKey(e.key, map);
  if (level === null) return { kind: 'ignore' };
  if (!ratingOpen || e.repeat) return { kind: 'swallow' };
  return { kind: 'rate', level };
}
