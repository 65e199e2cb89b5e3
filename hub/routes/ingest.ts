import type { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { AUTH_ERROR_CODES } from '../../src-shared/enrollment.ts';
import { DEAD_LETTER_HEADER, HUB_API, HUB_ERROR_CODES, ingestReplySchema } from '../../src-shared/index.ts';
import { HUB_HTTP_ERROR_CODES, HubHttpError, hubError, REJECTION_STATUS, sendHubError } from '../errors.ts';
import { type ParseInput, type ParseResult, parseIngestBody } from '../ingest-parse.ts';
import { defaultParseWorkers, IngestParsePool } from '../ingest-parse-pool.ts';
import type { HubContext } from './context.ts';
import { deviceAuth, digestBody } from './trust.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * An unsigned upload (allowed only while a hub runs with --allow-unsigned) is parsed before
     * the rate limit, which counts it by the device its body names.
     */
    unsignedUpload?: ParseResult;
  }
}

export const INGEST_PATH = `${HUB_API}/ingest`;
/** Far above a full batch (500 records of ~1 KiB); counters aim at ≤ 256 KiB gzip. Applies after inflating too. */
export const INGEST_BODY_LIMIT = 4 * 1024 * 1024;

export interface IngestRouteOptions {
  requireSignatures: boolean;
  /** Worker threads that parse upload bodies; 0 parses inline. Default: defaultParseWorkers(). */
  parseWorkers?: number | undefined;
}

export const ingestRoutes: FastifyPluginAsync<HubContext & IngestRouteOptions> = async (app, ctx) => {
  const { store, metrics, now } = ctx;
  const auth = deviceAuth(ctx);
  const parser = new IngestParsePool(ctx.parseWorkers ?? defaultParseWorkers());
  app.addHook('onClose', () => parser.close());
  // The body stays bytes here (this plugin's scope only): it is inflated, parsed and checked after
  // the signature check, so a forged upload costs no parsing, and in a parse worker whenever other
  // uploads are in hand (parseUpload).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  );
  // Only a counter that says it takes dead letters gets them; others keep the whole-batch 400.
  // So does an engine without dead letters (listDeadLetters marks it): never a 500 for one.
  const deadLettersTaken = (request: FastifyRequest) =>
    request.headers[DEAD_LETTER_HEADER] === '1' && store.listDeadLetters !== undefined;
  /** Uploads past their signature check and not yet answered (being parsed or stored). */
  let inHand = 0;
  /** Per device, its latest upload in hand: settled once that upload is answered. */
  const lastOf = new Map<string, Promise<void>>();
  const parseUpload = (request: FastifyRequest, body: Buffer, others: number): Promise<ParseResult> => {
    const input = parseInput(request, body, deadLettersTaken(request));
    // Alone, the event loop parses at once: a hand-off would only add its round trip to the wait
    // (a counter draining its backlog sends one batch at a time). With other uploads in hand, a
    // worker parses while the event loop serves and stores them.
    return others === 0 ? Promise.resolve(parseIngestBody(input)) : parser.parse(input);
  };
  // Inline, in arrival order: the device an unsigned upload names is known only once it is parsed,
  // and its uploads must reach the handler (where their order is kept) as they came.
  const parseUnsigned = async (request: FastifyRequest) => {
    if (request.signedBy === undefined && Buffer.isBuffer(request.body))
      request.unsignedUpload = parseIngestBody(parseInput(request, request.body, deadLettersTaken(request)));
  };
  app.post(
    INGEST_PATH,
    {
      bodyLimit: INGEST_BODY_LIMIT,
      preParsing: [digestBody, checkEncoding],
      preHandler: [auth, parseUnsigned],
    },
    async (request, reply) => {
      inHand++;
      // A device's uploads reach the store in the order they arrived (a counter keeps two in
      // flight while it drains a backlog, and the later one may finish parsing first): each
      // waits for the one before it from the same device (signed, or named by an unsigned body).
      const unsigned = request.unsignedUpload;
      const device = request.signedBy ?? (unsigned?.ok ? unsigned.batch.device_id : undefined);
      const before = device === undefined ? undefined : lastOf.get(device);
      let done = () => {};
      const mine = new Promise<void>((resolve) => {
        done = resolve;
      });
      if (device !== undefined) lastOf.set(device, mine);
      try {
        return await handle(request, reply, before);
      } finally {
        inHand--;
        done();
        if (device !== undefined && lastOf.get(device) === mine) lastOf.delete(device);
      }
    },
  );

  async function handle(request: FastifyRequest, reply: FastifyReply, before: Promise<void> | undefined) {
    if (!Buffer.isBuffer(request.body)) {
      // text/plain and the like: Fastify's own parsers gave a string.
      metrics.rejectedBatch(HUB_ERROR_CODES.badRequest);
      return sendHubError(
        reply,
        hubError(
          400,
          HUB_ERROR_CODES.badRequest,
          'body: must be a JSON upload (content-type application/json)',
        ),
      );
    }
    const parsed = request.unsignedUpload ?? (await parseUpload(request, request.body, inHand - 1));
    if (!parsed.ok) {
      metrics.rejectedBatch(parsed.code);
      if (parsed.statusCode === 503) reply.header('retry-after', '5');
      if (parsed.statusCode >= 500) request.log.error({ code: parsed.code }, parsed.message);
      return sendHubError(reply, hubError(parsed.statusCode, parsed.code, parsed.message));
    }
    const batch = parsed.batch;
    // A device uploads only its own stream: a signed batch for another device id is refused.
    if (request.signedBy !== undefined && request.signedBy !== batch.device_id)
      return sendHubError(
        reply,
        hubError(
          403,
          AUTH_ERROR_CODES.deviceMismatch,
          `signed by ${request.signedBy}, uploads for ${batch.device_id}`,
        ),
      );
    if (before) await before;
    // The parse worker checked every hash; the store need not hash the batch again.
    const outcome = await store.ingest(batch, now(), { hashesVerified: true });
    if (!outcome.ok) {
      const { code, message, cursor } = outcome.rejection;
      metrics.rejectedBatch(code);
      // A fork or broken chain may be a cloned terminal (threat T7): log it as an alarm, not a hiccup.
      const level = code === 'CONFLICT' || code === 'CHAIN_MISMATCH' ? 'error' : 'warn';
      request.log[level]({ device_id: batch.device_id, code, cursor }, 'ingest batch rejected');
      return sendHubError(reply, hubError(REJECTION_STATUS[code], code, message, cursor));
    }
    metrics.accepted(outcome.stored, outcome.duplicates);
    if (outcome.dead_letters) {
      metrics.deadLettered(outcome.dead_letters);
      request.log.warn(
        { device_id: batch.device_id, dead_letters: outcome.dead_letters },
        'ingest: items kept as dead letters',
      );
    }
    return ingestReplySchema.parse(outcome.reply);
  }
};

function parseInput(request: FastifyRequest, body: Buffer, deadLetters: boolean): ParseInput {
  return { body, gzip: isGzip(request), deadLetters, maxBytes: INGEST_BODY_LIMIT };
}

function encodingOf(request: FastifyRequest): string {
  return String(request.headers['content-encoding'] ?? 'identity')
    .trim()
    .toLowerCase();
}

function isGzip(request: FastifyRequest): boolean {
  return encodingOf(request) === 'gzip';
}

/** Accepts `Content-Encoding: gzip` or none; anything else is a 415 before the body is read. */
async function checkEncoding(request: FastifyRequest, _reply: unknown, payload: Readable) {
  const encoding = encodingOf(request);
  if (encoding === 'identity' || encoding === '' || encoding === 'gzip') return payload;
  throw new HubHttpError(
    415,
    HUB_HTTP_ERROR_CODES.unsupportedMediaType,
    `content-encoding ${encoding} is not supported: send gzip or no encoding`,
  );
}
