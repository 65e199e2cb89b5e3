import { createHash } from 'node:crypto';
import { configVersionName } from '../../src-shared/config-bundle.ts';
import {
  type ClockAnchor,
  canonicalJson,
  correctedMs,
  type Level,
  nearestInSorted,
} from '../../src-shared/index.ts';
import type {
  HubSignal,
  ListRatingsOptions,
  StatsCountRow,
  StoredConfigVersion,
  StoredRating,
} from './types.ts';

/**
 * Row shapes and conversions every engine shares (SQLite, PostgreSQL): what a store reads and
 * writes is the same; only the SQL that moves it differs.
 */

/** A stats count row as either engine's GROUP BY gives it (flags as 0/1). */
export interface StatsCountSqlRow {
  day: string;
  hall_id: string;
  window_id: string;
  outcome: string;
  level: number | null;
  flagged: number;
  is_default: number;
  count: number;
}

export function statsCountRow(r: StatsCountSqlRow): StatsCountRow {
  return {
    ...r,
    outcome: r.outcome as StatsCountRow['outcome'],
    level: r.level as Level | null,
    flagged: r.flagged === 1,
    is_default: r.is_default === 1,
  };
}

export function epochMs(value: string): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new RangeError(`not an ISO 8601 time: ${value}`);
  return ms;
}

/** listRatings options checked and defaulted: page size 1..10,000 (default 1000), position, since. */
export function pageRequest(options: ListRatingsOptions): { limit: number; after: number; since: number } {
  const limit = Math.max(1, Math.min(options.limit ?? 1000, 10_000));
  const after = options.after ? Number(options.after) : 0;
  if (!Number.isSafeInteger(after) || after < 0)
    throw new RangeError(`not a page position: ${options.after}`);
  const since = options.since === undefined ? Number.MIN_SAFE_INTEGER : epochMs(options.since);
  return { limit, after, since };
}

/** Adds the hub's corrected time and signals (fleet store) when it has them; absent keys otherwise. */
export function withHubFields(rating: StoredRating, row: object): StoredRating {
  const hub = row as { corrected_at?: string | null; hub_signals?: string | null };
  if (hub.corrected_at) rating.corrected_at = hub.corrected_at;
  if (hub.hub_signals) rating.hub_signals = JSON.parse(hub.hub_signals) as HubSignal[];
  return rating;
}

/** A config version as stored: content as canonical JSON text with its SHA-256. */
export interface ConfigVersionRow {
  seq: number;
  version: string;
  issued_at: string;
  content: string;
  content_sha256: string;
}

/** The row for the next published version (seq read in the publishing transaction). */
export function configVersionRow(seq: number, content: unknown, issuedAt: Date): ConfigVersionRow {
  const text = canonicalJson(content);
  return {
    seq,
    version: configVersionName(seq, issuedAt),
    issued_at: issuedAt.toISOString(),
    content: text,
    content_sha256: createHash('sha256').update(text).digest('hex'),
  };
}

export function configFromRow(row: ConfigVersionRow): StoredConfigVersion {
  return {
    seq: row.seq,
    version: row.version,
    issued_at: row.issued_at,
    content: JSON.parse(row.content),
    content_sha256: row.content_sha256,
  };
}

/** A rating's corrected time as stored: ISO text, the hub's signals as JSON text, and whether they flag it. */
export interface CorrectedFields {
  corrected_at: string;
  hub_signals: string | null;
  flagged: 0 | 1;
}

/**
 * The corrected time of a rating from the anchors of its boot (mono_ms order), or null when the
 * boot has none yet (a later heartbeat corrects it then). A corrected time before the case's
 * accept time is a hub signal and flags the rating. Both engines, at ingest and on a heartbeat.
 */
export function correctedFields(
  sortedAnchors: readonly ClockAnchor[],
  monoMs: number,
  acceptedAt: string | null,
): CorrectedFields | null {
  const anchor = nearestInSorted(sortedAnchors, monoMs);
  if (!anchor) return null;
  const ms = correctedMs(anchor, monoMs);
  const before = acceptedAt !== null && ms < Date.parse(acceptedAt);
  return {
    corrected_at: new Date(ms).toISOString(),
    hub_signals: before ? JSON.stringify(['before_accept'] satisfies HubSignal[]) : null,
    flagged: before ? 1 : 0,
  };
}
