import type { AnyRatingRecord } from './rating.ts';

/**
 * Canonical text of a record for hashing: keys sorted at every depth, no whitespace, so the
 * counter (Node) and the hub compute the same digest whatever order fields were written in.
 */
export function canonicalJson(value: unknown): string {
  // Plain loops and one string rather than entries/filter/sort/map/join: the hub hashes every
  // record it ingests, and this was most of that cost. Same output as the obvious version
  // (tests/contract/canonical-json.test.ts checks them against each other).
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    // `?? ''`: an undefined element reads as nothing, as Array.prototype.join has always made it.
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + (canonicalJson(value[i]) ?? '');
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  // Default sort orders by UTF-16 code units, the same order as comparing with < and >.
  const keys = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const v = record[key];
    if (v === undefined) continue;
    out += `${first ? '' : ','}${quotedKey(key)}:${canonicalJson(v)}`;
    first = false;
  }
  return `${out}}`;
}

/** Field names repeat in every record: quote each once (bounded, so odd keys cannot grow it). */
const quotedKeys = new Map<string, string>();
function quotedKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key);
    if (quotedKeys.size < 4096) quotedKeys.set(key, quoted);
  }
  return quoted;
}

/** The text whose SHA-256 is a record's `hash`: the body (which includes prev_hash) without `hash`; current or legacy shape. */
export function chainInput(body: Omit<AnyRatingRecord, 'hash'> & { hash?: string }): string {
  const { hash: _ignored, ...rest } = body;
  return canonicalJson(rest);
}
