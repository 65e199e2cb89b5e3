import { gunzipSync } from 'node:zlib';
import secureJson from 'secure-json-parse';
import { HUB_ERROR_CODES } from '../src-shared/index.ts';
import { describeZodError, HUB_HTTP_ERROR_CODES } from './errors.ts';
import { isDeadLetterItem, readIngestBatch, verifyHashes } from './ingest-rules.ts';
import type { HubIngestBatch, HubIngestItem } from './store/types.ts';

/**
 * Everything the hub does to an upload body before the store sees it: inflate, decode, parse,
 * validate, check every item's hash. Pure CPU and the bulk of an upload's cost (zod and SHA-256 of
 * each record), so the ingest route runs it in worker threads (ingest-parse-pool.ts); the same
 * function runs inline where no worker is wanted.
 */
export interface ParseInput {
  /** The body exactly as received. */
  body: Uint8Array;
  /** Content-Encoding, already checked to be gzip or identity. */
  gzip: boolean;
  /** The counter takes dead letters (header), and the store keeps them. */
  deadLetters: boolean;
  /** Largest body after inflating: a small zip bomb must not blow up memory. */
  maxBytes: number;
}

export type ParseResult =
  | {
      ok: true;
      batch: HubIngestBatch;
      /** No record text holds an escape that could make a lone UTF-16 surrogate (IngestOptions). */
      noLoneSurrogates: boolean;
    }
  | { ok: false; statusCode: number; code: string; message: string };

export function parseIngestBody(input: ParseInput): ParseResult {
  return readBody(input).result;
}

/**
 * A parsed batch as a parse worker hands it back: each record's own JSON text, which the event
 * loop parses again in less time than it takes to copy the parsed objects across threads (the
 * structured clone writes every field name of every record, and reads them back). Used only when
 * each record came from its own line and none is a dead letter; the texts passed the same checks.
 */
export interface PackedBatch {
  device_id: string;
  texts: string[];
  noLoneSurrogates: boolean;
}

/** The worker's form of a parse result: packed where it can be (see PackedBatch). */
export function packParse(input: ParseInput): ParseResult | { ok: true; packed: PackedBatch } {
  const { result, texts } = readBody(input);
  if (!result.ok || !texts || result.batch.items.some(isDeadLetterItem)) return result;
  return {
    ok: true,
    packed: { device_id: result.batch.device_id, texts, noLoneSurrogates: result.noLoneSurrogates },
  };
}

/** The batch a PackedBatch stands for. */
export function unpack(packed: PackedBatch): ParseResult {
  const items = packed.texts.map((text) => JSON.parse(text) as HubIngestItem);
  return {
    ok: true,
    batch: { device_id: packed.device_id, items },
    noLoneSurrogates: packed.noLoneSurrogates,
  };
}

function readBody(input: ParseInput): { result: ParseResult; texts?: string[] } {
  let bytes: Uint8Array = input.body;
  if (input.gzip) {
    try {
      bytes = gunzipSync(input.body, { maxOutputLength: input.maxBytes });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        return { result: tooLarge(input.maxBytes) };
      return { result: bad(`body is not valid gzip: ${(error as Error).message}`) };
    }
  }
  if (bytes.byteLength > input.maxBytes) return { result: tooLarge(input.maxBytes) };
  if (bytes.byteLength === 0) return { result: bad('body is empty: send one JSON batch') };
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lines = readBatchLines(buffer);
  let body: unknown;
  let noLoneSurrogates: boolean;
  if (lines) {
    body = lines.body;
    noLoneSurrogates = !lines.texts.some(mayHoldLoneSurrogate);
  } else {
    const text = buffer.toString('utf8');
    try {
      body = parseJson(text);
    } catch (error) {
      return { result: bad(`body is not valid JSON: ${(error as Error).message}`) };
    }
    noLoneSurrogates = !mayHoldLoneSurrogate(text);
  }
  const read = readIngestBatch(body, input.deadLetters);
  if (!read.ok) return { result: bad(describeZodError(read.error)) };
  const mismatch = verifyHashes(read.batch);
  if (mismatch)
    return { result: { ok: false, statusCode: 400, code: mismatch.code, message: mismatch.message } };
  return { result: { ok: true, batch: read.batch, noLoneSurrogates }, texts: lines?.texts };
}

/**
 * Text decoded from UTF-8 never holds a lone surrogate (bad bytes become U+FFFD), so in parsed
 * JSON one can only come from a \uD800–\uDFFF escape. An escaped backslash before `ud…` also
 * matches: that only costs the store its own look.
 */
function mayHoldLoneSurrogate(text: string): boolean {
  return /\\u[dD][89a-fA-F]/.test(text);
}

/** As Fastify's own JSON parser: a __proto__ or constructor.prototype key is refused, not merged. */
function parseJson(text: string): unknown {
  return secureJson.parse(text, { protoAction: 'error', constructorAction: 'error' });
}

const NEWLINE = 0x0a;
const ITEMS_OPEN = Buffer.from('"items":[');
const BATCH_CLOSE = ']}';

/**
 * A batch laid out as the counter writes it, one record to a line:
 *
 *     {"device_id":"…","items":[
 *     {…record…},
 *     {…record…}
 *     ]}
 *
 * read line by line (the batch, and each value's own text), or undefined for any other layout
 * (the caller then parses the whole text).
 * Why by hand: one JSON.parse of the whole body first makes it one string of about a megabyte
 * (UTF-16, since names are Chinese), and making that string cost the hub more than parsing it;
 * 500 small strings cost a tenth. No JSON library reads an array element by element from bytes.
 *
 * It gives exactly what parsing the whole text gives, or undefined: a raw newline cannot occur
 * inside a JSON string, so every line break falls between tokens. The first line followed by `]}`
 * must parse to an object with only `device_id` and `items` (an empty array), and end in
 * `"items":[`, so that bracket is the one left open, and it opens the root's `items`; each
 * following line but the last must be one JSON value followed by a comma (the last value
 * without), and the last line exactly `]}`. Each part goes through the same guarded parser as a
 * whole body would.
 */
export function readBatchLines(buffer: Buffer): { body: unknown; texts: string[] } | undefined {
  const firstEnd = buffer.indexOf(NEWLINE);
  if (firstEnd < ITEMS_OPEN.length) return undefined;
  if (buffer.compare(ITEMS_OPEN, 0, ITEMS_OPEN.length, firstEnd - ITEMS_OPEN.length, firstEnd) !== 0)
    return undefined;
  try {
    const head = parseJson(`${buffer.toString('utf8', 0, firstEnd)}${BATCH_CLOSE}`);
    if (head === null || typeof head !== 'object' || Array.isArray(head)) return undefined;
    const keys = Object.keys(head);
    if (keys.length !== 2 || !('device_id' in head) || !('items' in head)) return undefined;
    const { items } = head as { items: unknown };
    if (!Array.isArray(items) || items.length !== 0) return undefined;
    const values: unknown[] = [];
    const texts: string[] = [];
    for (let start = firstEnd + 1; ; ) {
      const end = buffer.indexOf(NEWLINE, start);
      // Every value line ends in a newline; the close comes only after a value without a comma.
      if (end <= start) return undefined;
      // A value line: after the last value the next line must be the close.
      const comma = buffer[end - 1] === 0x2c;
      const text = buffer.toString('utf8', start, comma ? end - 1 : end);
      values.push(parseJson(text));
      texts.push(text);
      start = end + 1;
      if (!comma) {
        if (buffer.indexOf(NEWLINE, start) >= 0 || buffer.toString('latin1', start) !== BATCH_CLOSE)
          return undefined;
        return { body: { ...head, items: values }, texts };
      }
    }
  } catch {
    return undefined;
  }
}

function bad(message: string): ParseResult {
  return { ok: false, statusCode: 400, code: HUB_ERROR_CODES.badRequest, message };
}

function tooLarge(maxBytes: number): ParseResult {
  return {
    ok: false,
    statusCode: 413,
    code: HUB_HTTP_ERROR_CODES.payloadTooLarge,
    message: `request body is larger than ${maxBytes} bytes (after gzip is inflated)`,
  };
}
