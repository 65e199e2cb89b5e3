import { STATUS_CODES } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { ZodError } from 'zod';
import { HUB_ERROR_CODES, type HubError } from '../src-shared/index.ts';
import type { IngestRejectCode } from './store/types.ts';

/** The contract's transport-level codes (src-shared/wire.ts), under the names the routes use. */
export const HUB_HTTP_ERROR_CODES = {
  notFound: HUB_ERROR_CODES.notFound,
  payloadTooLarge: HUB_ERROR_CODES.payloadTooLarge,
  unsupportedMediaType: HUB_ERROR_CODES.unsupportedMediaType,
  storeUnavailable: HUB_ERROR_CODES.storeUnavailable,
  internal: HUB_ERROR_CODES.internal,
  /** 429 with Retry-After: per-device (or per-IP) request limit reached (hub/rate-limit.ts). */
  rateLimited: 'RATE_LIMITED',
  /** 503 with Retry-After: the ingest parse worker died holding the body, or the hub is closing. */
  parserUnavailable: 'PARSER_UNAVAILABLE',
} as const;

/** HTTP status for each rejection a store can return. */
export const REJECTION_STATUS: Readonly<Record<IngestRejectCode, number>> = {
  [HUB_ERROR_CODES.hashMismatch]: 400,
  [HUB_ERROR_CODES.seqGap]: 409,
  [HUB_ERROR_CODES.chainMismatch]: 409,
  [HUB_ERROR_CODES.conflict]: 409,
};

export function hubError(statusCode: number, code: string, message: string, cursor?: number): HubError {
  const body: HubError = { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message };
  if (cursor !== undefined) body.cursor = cursor;
  return body;
}

export function sendHubError(reply: FastifyReply, body: HubError): FastifyReply {
  return reply.code(body.statusCode).type('application/json; charset=utf-8').send(body);
}

/**
 * "items.3.level: must be one of 5, 4, 3, 2, 1": the first failing field path, so a counter's log
 * says what to fix. `where` names the input (body, query) and prefixes query paths.
 */
export function describeZodError(error: ZodError, where: 'body' | 'query' = 'body'): string {
  const issue = error.issues[0];
  if (!issue) return `${where}: invalid`;
  const segments = issue.path.map(String);
  const path =
    segments.length === 0 ? where : where === 'body' ? segments.join('.') : [where, ...segments].join('.');
  return `${path}: ${issueText(issue)}`;
}

function issueText(issue: ZodError['issues'][number]): string {
  // A union of literals (the level, the channel) only says "Invalid input": list what it accepts.
  if (issue.code === 'invalid_union') {
    const options = issue.errors.flat();
    if (options.length > 0 && options.every((o) => o.code === 'invalid_value')) {
      return `must be one of ${options.flatMap((o) => o.values.map(String)).join(', ')}`;
    }
  }
  return issue.message;
}

/** An error with a hub code, thrown inside a hook or handler and answered by the error handler. */
export class HubHttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HubHttpError';
  }
}
