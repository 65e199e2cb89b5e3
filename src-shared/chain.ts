import type { AnyRatingRecord } from './rating.ts';

/**
 * Canonical text of a record for hashing: keys sorted at every depth, no whitespace, so the
 * counter (Node) and the hub compute the same digest whatever order fields were written in.
 */
export function canonicalJson(value: unknown): string {
  return canonicalWithout(value, undefined);
}

/** The text whose SHA-256 is a record's `hash`: the body (which includes prev_hash) without `hash`; current or legacy shape. */
export function chainInput(body: Omit<AnyRatingRecord, 'hash'> & { hash?: string }): string {
  return canonicalWithout(body, 'hash');
}

/**
 * canonicalJson of `value` without its top-level key `skip`. The hub hashes every record it
 * ingests, so this is on its hottest path: a copy of the value with its keys inserted in sorted
 * order, written by the engine's own JSON.stringify, costs less than half of building the text
 * field by field. Where the copy would not come out the same (see sortedCopy) the text is built
 * by hand; tests/contract/canonical-json.test.ts holds both to the obvious definition.
 */
function canonicalWithout(value: unknown, skip: string | undefined): string {
  const copy = sortedCopy(value, skip);
  return copy === UNFIT ? handWritten(value, skip) : (JSON.stringify(copy) as string);
}

const UNFIT: unique symbol = Symbol('unfit');

/**
 * `value` with every object's keys inserted in sorted order, or UNFIT where JSON.stringify of such
 * a copy would not be the canonical text: an integer-like key (engines list those first, in
 * numeric order), `__proto__` (an assignment would set the prototype), an undefined, function or
 * symbol inside an array or as a member (the hand-written text differs there), or a toJSON method.
 */
function sortedCopy(value: unknown, skip?: string): unknown {
  if (value === null || typeof value !== 'object') {
    return typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint'
      ? UNFIT
      : value;
  }
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (v === undefined) return UNFIT;
      const c = sortedCopy(v);
      if (c === UNFIT) return UNFIT;
      out[i] = c;
    }
    return out;
  }
  const record = value as Record<string, unknown>;
  const keys = sortedKeys(Object.keys(record));
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    if (key === skip) continue;
    const first = key.charCodeAt(0);
    if ((first >= 48 && first <= 57) || key === '__proto__' || key === 'toJSON') return UNFIT;
    const v = record[key];
    if (v === undefined) continue;
    const c = sortedCopy(v);
    if (c === UNFIT) return UNFIT;
    out[key] = c;
  }
  return out;
}

/**
 * Object.keys(…).sort(), remembered for the last few key lists seen: the records of a batch share
 * a handful of shapes, and sorting 45 field names was most of a record's copy. Default sort orders
 * by UTF-16 code units, the same order as comparing with < and >.
 */
function sortedKeys(keys: string[]): readonly string[] {
  for (const shape of shapes) {
    const seen = shape.keys;
    if (seen.length !== keys.length) continue;
    let same = true;
    for (let i = 0; i < keys.length; i++) {
      if (seen[i] !== keys[i]) {
        same = false;
        break;
      }
    }
    if (same) return shape.sorted;
  }
  const sorted = keys.slice().sort();
  shapes[nextShape] = { keys, sorted };
  nextShape = (nextShape + 1) % SHAPES;
  return sorted;
}
const SHAPES = 8;
const shapes: { keys: readonly string[]; sorted: readonly string[] }[] = [];
let nextShape = 0;

/** The canonical text built field by field: for the values sortedCopy cannot take. */
function handWritten(value: unknown, skip?: string): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    // `?? ''`: an undefined element reads as nothing, as Array.prototype.join has always made it.
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + (handWritten(value[i]) ?? '');
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    if (key === skip) continue;
    const v = record[key];
    if (v === undefined) continue;
    out += `${first ? '' : ','}${quotedKey(key)}:${handWritten(v)}`;
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
