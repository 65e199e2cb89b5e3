import { gunzipSync } from 'node:zlib';
import secureJson from 'secure-json-parse';
import { HUB_ERROR_CODES } from '../src-shared/index.ts';
import { describeZodError, HUB_HTTP_ERROR_CODES } from './errors.ts';
import { readIngestBatch, verifyHashes } from './ingest-rules.ts';
import type { HubIngestBatch } from './store/types.ts';

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
  | { ok: true; batch: HubIngestBatch }
  | { ok: false; statusCode: number; code: string; message: string };

export function parseIngestBody(input: ParseInput): ParseResult {
  let bytes: Uint8Array = input.body;
  if (input.gzip) {
    try {
      bytes = gunzipSync(input.body, { maxOutputLength: input.maxBytes });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return tooLarge(input.maxBytes);
      return bad(`body is not valid gzip: ${(error as Error).message}`);
    }
  }
  if (bytes.byteLength > input.maxBytes) return tooLarge(input.maxBytes);
  if (bytes.byteLength === 0) return bad('body is empty: send one JSON batch');
  let body: unknown;
  try {
    // As Fastify's own JSON parser: a __proto__ or constructor.prototype key is refused, not merged.
    body = secureJson.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'), {
      protoAction: 'error',
      constructorAction: 'error',
    });
  } catch (error) {
    return bad(`body is not valid JSON: ${(error as Error).message}`);
  }
  const read = readIngestBatch(body, input.deadLetters);
  if (!read.ok) return bad(describeZodError(read.error));
  const mismatch = verifyHashes(read.batch);
  if (mismatch) return { ok: false, statusCode: 400, code: mismatch.code, message: mismatch.message };
  return { ok: true, batch: read.batch };
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
