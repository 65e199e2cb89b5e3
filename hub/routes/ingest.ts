import { pipeline, type Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { AUTH_ERROR_CODES } from '../../src-shared/enrollment.ts';
import { DEAD_LETTER_HEADER, HUB_API, HUB_ERROR_CODES, ingestReplySchema } from '../../src-shared/index.ts';
import {
  describeZodError,
  HUB_HTTP_ERROR_CODES,
  HubHttpError,
  hubError,
  REJECTION_STATUS,
  sendHubError,
} from '../errors.ts';
import { readIngestBatch } from '../ingest-rules.ts';
import type { HubContext } from './context.ts';
import { deviceAuth, digestBody } from './trust.ts';

export const INGEST_PATH = `${HUB_API}/ingest`;
/** Far above a full batch (500 records of ~1 KiB); counters aim at ≤ 256 KiB gzip. */
export const INGEST_BODY_LIMIT = 4 * 1024 * 1024;

export const ingestRoutes: FastifyPluginAsync<HubContext & { requireSignatures: boolean }> = async (
  app,
  ctx,
) => {
  const { store, metrics, now } = ctx;
  const auth = deviceAuth(ctx);
  app.post(
    INGEST_PATH,
    { bodyLimit: INGEST_BODY_LIMIT, preParsing: [digestBody, gunzipBody], preHandler: auth },
    async (request, reply) => {
      // Only a counter that says it takes dead letters gets them; others keep the whole-batch 400.
      // So does an engine without dead letters (listDeadLetters marks it): never a 500 for one.
      const takesDeadLetters =
        request.headers[DEAD_LETTER_HEADER] === '1' && store.listDeadLetters !== undefined;
      const parsed = readIngestBatch(request.body, takesDeadLetters);
      if (!parsed.ok) {
        metrics.rejectedBatch(HUB_ERROR_CODES.badRequest);
        return sendHubError(reply, hubError(400, HUB_ERROR_CODES.badRequest, describeZodError(parsed.error)));
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
      const outcome = await store.ingest(batch, now());
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
    },
  );
};

/**
 * Accepts `Content-Encoding: gzip`. The body limit applies to the inflated bytes (Fastify counts what
 * this stream emits), so a small zip bomb cannot blow up memory.
 */
async function gunzipBody(request: FastifyRequest, _reply: unknown, payload: Readable) {
  const encoding = String(request.headers['content-encoding'] ?? 'identity')
    .trim()
    .toLowerCase();
  if (encoding === 'identity' || encoding === '') return payload;
  if (encoding !== 'gzip') {
    throw new HubHttpError(
      415,
      HUB_HTTP_ERROR_CODES.unsupportedMediaType,
      `content-encoding ${encoding} is not supported: send gzip or no encoding`,
    );
  }
  // Fastify compares Content-Length with receivedEncodedLength: count the compressed bytes.
  let received = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      received += chunk.length;
      done(null, chunk);
    },
  });
  const gunzip = createGunzip();
  Object.defineProperty(gunzip, 'receivedEncodedLength', { get: () => received });
  pipeline(payload, counter, gunzip, () => {
    // Errors reach Fastify through the gunzip stream itself (a 400).
  });
  return gunzip;
}
