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
  const shape = shapeOf(Object.keys(record));
  if (shape.copy) return shape.copy(record, skip, sortedCopy, UNFIT);
  const out: Record<string, unknown> = {};
  for (const key of shape.sorted) {
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

/** A compiled sortedCopy of one object shape (see compileCopy). */
type ShapeCopy = (
  record: Record<string, unknown>,
  skip: string | undefined,
  nested: (value: unknown) => unknown,
  unfit: typeof UNFIT,
) => unknown;

interface Shape {
  keys: readonly string[];
  /** The same keys in sorted order (default sort: by UTF-16 code units, as < and > compare). */
  sorted: readonly string[];
  /** Times this shape was looked up; it is compiled on its second, so a one-off costs no compile. */
  hits: number;
  /** Set once compiled; null when its keys cannot be (see compileCopy). */
  copy: ShapeCopy | null | undefined;
}

/**
 * The shape of an object with these keys, remembered for the last few seen: the records of a
 * batch share a handful of shapes (the record, its pad, its rater, its dimensions), and sorting 45
 * field names, then inserting them one by one, was most of a record's copy.
 */
function shapeOf(keys: string[]): Shape {
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
    if (same) {
      if (shape.copy === undefined && ++shape.hits >= 2) shape.copy = compileCopy(shape.sorted);
      return shape;
    }
  }
  const shape: Shape = { keys, sorted: keys.slice().sort(), hits: 1, copy: undefined };
  shapes[nextShape] = shape;
  nextShape = (nextShape + 1) % SHAPES;
  return shape;
}
const SHAPES = 16;
const shapes: Shape[] = [];
let nextShape = 0;

/** Keys a compiled copy may hold: plain names, so the literal keeps them in the order written. */
const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const MAX_COMPILED_KEYS = 64;

/**
 * sortedCopy of one shape as a single object literal, compiled once per shape. Why by hand: the
 * copy must be built in sorted key order for JSON.stringify to write the canonical text, and
 * inserting keys one at a time under computed names takes the engine's slow path per key, while a
 * literal with fixed names is built in one step (the copy of a record took half the time of
 * hashing it). Only shapes of plain names are compiled (no integer-like key, which an engine lists
 * first; no `__proto__`, which a literal would take as the prototype; no `toJSON`); the names
 * enter the source only as JSON string literals. Each member is checked as sortedCopy checks it:
 * an undefined or skipped one is left undefined (JSON.stringify omits it, as canonical text does),
 * a function, symbol or bigint makes the whole copy UNFIT, and a nested object or array is copied.
 */
function compileCopy(sorted: readonly string[]): ShapeCopy | null {
  if (sorted.length > MAX_COMPILED_KEYS) return null;
  if (sorted.some((k) => !PLAIN_KEY.test(k) || k === '__proto__' || k === 'toJSON')) return null;
  const lines = sorted.map((key, i) => {
    const name = JSON.stringify(key);
    return `let v${i} = skip === ${name} ? undefined : record[${name}];
if (typeof v${i} === 'object') { if (v${i} !== null) { v${i} = nested(v${i}); if (v${i} === unfit) return unfit; } }
else if (typeof v${i} === 'function' || typeof v${i} === 'symbol' || typeof v${i} === 'bigint') return unfit;`;
  });
  const literal = sorted.map((key, i) => `${JSON.stringify(key)}: v${i}`).join(', ');
  try {
    return new Function(
      'record',
      'skip',
      'nested',
      'unfit',
      `${lines.join('\n')}\nreturn { ${literal} };`,
    ) as ShapeCopy;
  } catch {
    // A runtime that forbids code from strings (a CSP without unsafe-eval): the copy by key stays.
    return null;
  }
}

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
