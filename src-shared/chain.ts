import type { AnyRatingRecord } from './rating.ts';

/**
 * Canonical text of a record for hashing: keys sorted at every depth, no whitespace, so the
 * counter (Node) and the hub compute the same digest whatever order fields were written in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The text whose SHA-256 is a record's `hash`: the body (which includes prev_hash) without `hash`; current or legacy shape. */
export function chainInput(body: Omit<AnyRatingRecord, 'hash'> & { hash?: string }): string {
  const { hash: _ignored, ...rest } = body;
  return canonicalJson(rest);
}
