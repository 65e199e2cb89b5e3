import type { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { AUTH_ERROR_CODES } from '../../src-shared/enrollment.ts';
import { DEAD_LETTER_HEADER, HUB_API, HUB_ERROR_CODES, ingestReplySchema } from '../../src-shared/index.ts';
import { claimedKeyId } from '../../src-shared/signing.ts';
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
    /** This upload among its device's uploads in hand (see storeTurn). */
    inHandUpload?: { upload: InHandUpload; device: string };
  }
}

export const INGEST_PATH = `${HUB_API}/ingest`;
/** Far above a full batch (500 records of ~1 KiB); counters aim at ≤ 256 KiB gzip. Applies after inflating too. */
export const INGEST_BODY_LIMIT = 4 * 1024 * 1024;

export interface IngestRouteOptions {
  requireSignatures: boolean;
  /** Worker threads that parse upload bodies; 0 parses inline. Default: defaultParseWorkers(). */
  parseWorkers?: number | undefined;
  /** Start the parse workers with the hub, not with the first upload (IngestParsePool.warm). */
  warmParseWorkers?: boolean | undefined;
  /** Default SEQ_GAP_WAIT_MS. */
  seqGapWaitMs?: number | undefined;
}

export const ingestRoutes: FastifyPluginAsync<HubContext & IngestRouteOptions> = async (app, ctx) => {
  const { store, metrics, now } = ctx;
  const auth = deviceAuth(ctx);
  const parser = new IngestParsePool(ctx.parseWorkers ?? defaultParseWorkers());
  app.addHook('onClose', () => parser.close());
  if (ctx.warmParseWorkers) app.addHook('onReady', async () => parser.warm());
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
  const storedSignal = new DeviceSignal();
  /** Per device, its uploads in hand (see storeTurn). */
  const inHandOf = new Map<string, DeviceLane>();
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
      // In hand from the moment it arrives, by the device its signature names: the uploads of a
      // device come on several connections and may pass the signature check in any order.
      onRequest: async (request) => {
        const device = claimedKeyId(request.headers);
        if (device !== null) holdUpload(request, device);
      },
      onResponse: async (request) => releaseUpload(request),
      onRequestAbort: async (request) => releaseUpload(request),
      preParsing: [digestBody, checkEncoding],
      preHandler: [auth, parseUnsigned],
    },
    async (request, reply) => {
      inHand++;
      // A device's uploads reach the store in seq order, whatever order they were read, checked
      // and parsed in (storeTurn). An unsigned upload is held here, by the device its body names.
      const unsigned = request.unsignedUpload;
      if (request.inHandUpload === undefined && unsigned?.ok) holdUpload(request, unsigned.batch.device_id);
      // (A signed upload gets here only if its claimed keyid is the device that signed it.)
      const held = request.inHandUpload;
      try {
        return await handle(request, reply, held?.upload, held ? inHandOf.get(held.device) : undefined);
      } finally {
        inHand--;
        releaseUpload(request);
      }
    },
  );

  function holdUpload(request: FastifyRequest, device: string): void {
    const upload = inHandUpload();
    const lane = inHandOf.get(device) ?? { uploads: new Set<InHandUpload>(), next: null };
    inHandOf.set(device, lane);
    lane.uploads.add(upload);
    request.inHandUpload = { upload, device };
  }

  /** Once answered (or abandoned): nothing waits for it any more. Safe to call more than once. */
  function releaseUpload(request: FastifyRequest): void {
    const held = request.inHandUpload;
    if (!held) return;
    request.inHandUpload = undefined;
    held.upload.settleParsed();
    held.upload.settleHandedOver();
    const lane = inHandOf.get(held.device);
    if (!lane) return;
    lane.uploads.delete(held.upload);
    if (lane.uploads.size === 0) inHandOf.delete(held.device);
  }

  async function handle(
    request: FastifyRequest,
    reply: FastifyReply,
    mine: InHandUpload | undefined,
    lane: DeviceLane | undefined,
  ) {
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
    if (mine) {
      mine.first = parsed.ok ? (parsed.batch.items[0]?.seq ?? null) : null;
      mine.settleParsed();
    }
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
    if (mine && lane) await storeTurn(mine, lane);
    // The parse worker checked every hash; the store need not hash the batch again.
    const options = { hashesVerified: true, noLoneSurrogates: parsed.noLoneSurrogates };
    const storing = store.ingest(batch, now(), options);
    const last = batch.items.at(-1)?.seq;
    if (store.ingestsInCallOrder) {
      // Handed over: the device's next upload may follow it into the store at once.
      if (lane && last !== undefined) lane.next = last + 1;
      mine?.settleHandedOver();
    }
    let outcome = await storing;
    // A batch that starts past the cursor may only have overtaken the one before it (another
    // connection, not yet here): wait for this device's next store before answering a gap.
    const until = performance.now() + (ctx.seqGapWaitMs ?? SEQ_GAP_WAIT_MS);
    while (!outcome.ok && outcome.rejection.code === HUB_ERROR_CODES.seqGap && performance.now() < until) {
      if (!(await storedSignal.next(batch.device_id, until - performance.now()))) break;
      outcome = await store.ingest(batch, now(), options);
    }
    if (outcome.ok) storedSignal.notify(batch.device_id);
    if (lane) lane.next = outcome.ok ? Math.max(lane.next ?? 0, outcome.reply.ack_through_seq + 1) : null;
    mine?.settleHandedOver();
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

/**
 * How long a batch that starts past the device's cursor waits for the batches before it before the
 * hub answers it with a seq gap. A counter's uploads come on several connections, and a later one
 * can overtake an earlier one whose connection was still being set up (seen on loopback); a wait of
 * a round trip or two on a poor link saves the counter resending everything after the gap. A real
 * gap (a hub restored from a backup) is answered this much later, once.
 */
export const SEQ_GAP_WAIT_MS = 1000;

/** Wakes whoever waits for a device's next stored batch. */
class DeviceSignal {
  private readonly waiting = new Map<string, Set<() => void>>();

  /** Resolves true at the device's next notify(), false after `ms`. */
  next(device: string, ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const waiters = this.waiting.get(device) ?? new Set<() => void>();
      this.waiting.set(device, waiters);
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(
        () => {
          waiters.delete(wake);
          if (waiters.size === 0 && this.waiting.get(device) === waiters) this.waiting.delete(device);
          resolve(false);
        },
        Math.max(0, ms),
      );
      waiters.add(wake);
    });
  }

  notify(device: string): void {
    const waiters = this.waiting.get(device);
    if (!waiters) return;
    this.waiting.delete(device);
    for (const wake of waiters) wake();
  }
}

/**
 * An upload past its signature check and not yet answered. A counter draining its backlog keeps
 * several on the wire (src-main/core/sync.ts, UPLOADS_IN_FLIGHT), each on its own connection, so
 * they may be read, verified and parsed in any order; storing them in that order would answer the
 * later batch with a seq gap and make the counter send everything after it again.
 */
interface InHandUpload {
  /** The batch's first seq once parsed; null before, when it failed, or when it is empty. */
  first: number | null;
  parsed: Promise<void>;
  /**
   * Handed to the store so that a later batch of the device is checked after it: at once for a
   * store that applies batches in call order, else once the store has answered.
   */
  handedOver: Promise<void>;
  settleParsed(): void;
  settleHandedOver(): void;
}

/** A device's uploads in hand, and the seq the last one handed to the store leaves it expecting. */
interface DeviceLane {
  uploads: Set<InHandUpload>;
  /** The first seq the store expects next, as far as this route knows; null when unknown. */
  next: number | null;
}

function inHandUpload(): InHandUpload {
  let settleParsed = () => {};
  let settleHandedOver = () => {};
  const parsed = new Promise<void>((resolve) => {
    settleParsed = resolve;
  });
  const handedOver = new Promise<void>((resolve) => {
    settleHandedOver = resolve;
  });
  return { first: null, parsed, handedOver, settleParsed, settleHandedOver };
}

/**
 * Waits until this upload is next in seq order among its device's uploads in hand. An upload that
 * starts exactly where the last one handed to the store ends goes at once: nothing in hand can
 * need to come before it. Any other first waits until every other upload in hand now is parsed
 * (its first seq known), then until each with a lower first seq is handed to the store. Parsing
 * never waits, and a wait is only ever for a strictly lower seq, so there is no cycle. An upload
 * that comes later is not waited for: if this batch leaves a gap, the gap answer (409 with the
 * cursor) is the safety net it always was. The whole wait is bounded (STORE_TURN_MAX_MS): a
 * request that claims the device's keyid and then stalls (a slow or forged sender) costs the
 * device's own uploads at most that long, never a hang.
 */
async function storeTurn(mine: InHandUpload, lane: DeviceLane): Promise<void> {
  const others = [...lane.uploads].filter((o) => o !== mine);
  if (others.length === 0 || (mine.first !== null && mine.first === lane.next)) return;
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, STORE_TURN_MAX_MS);
  });
  const turn = (async () => {
    await Promise.all(others.map((o) => o.parsed));
    const first = mine.first;
    if (first === null) return;
    await Promise.all(others.filter((o) => o.first !== null && o.first < first).map((o) => o.handedOver));
  })();
  try {
    await Promise.race([turn, bound]);
  } finally {
    clearTimeout(timer);
  }
}

/** Longest an upload waits for its turn among its device's uploads in hand (see storeTurn). */
export const STORE_TURN_MAX_MS = 5000;

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
