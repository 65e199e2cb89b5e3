import { createHash } from 'node:crypto';
import { configVersionName } from '../../src-shared/config-bundle.ts';
import { canonicalJson, type Level } from '../../src-shared/index.ts';
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
