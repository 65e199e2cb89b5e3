import { EventEmitter } from 'node:events';
import { STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import type { z } from 'zod';
import {
  WINDOW_API_ERROR_CODES as CODES,
  CodedError,
  caseParamsSchema,
  openCaseRequestSchema,
  type QueueCallReply,
  queueCallRequestSchema,
  type SessionView,
  WINDOW_API,
  WINDOW_API_CALLER_HEADER,
  type WindowApiError,
} from '../../../src-shared/index.ts';
import type { Counter } from '../counter.ts';
import {
  type ApiCaller,
  caseInfoOf,
  caseRatingState,
  ratingOfCase,
  recordCaseOpened,
  recordQueueCall,
} from './cases.ts';
import { windowApiOpenApi } from './openapi.ts';
import { bearerOf, loadOrCreateToken, tokenMatches } from './token.ts';
import { attachCaseWebhook, type WebhookOptions } from './webhook.ts';

/** The only addresses the window API may listen on (threat T8). */
export const LOOPBACK_HOSTS = ['127.0.0.1', '::1'] as const;
const HOST_HEADER = /^(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/i;
const CALLER_NAME = /^[A-Za-z0-9._-]{1,64}$/;

export interface WindowApiOptions {
  counter: Counter;
  /** 0 picks a free port. */
  port: number;
  /** 127.0.0.1 (default) or ::1; anything else is refused. */
  host?: string;
  /** The terminal token; read from (or created in) the counter's data dir when absent. */
  token?: string;
  webhook?: WebhookOptions | null;
  log?: (msg: string) => void;
}

export interface QueueCallEvent extends QueueCallReply {
  service_name: string | null;
  caller: string;
}

export interface WindowApi {
  url: string;
  /** Emits `call` for every queue ticket called to this window, after it is stored. */
  readonly events: EventEmitter<{ call: [QueueCallEvent] }>;
  /** Resolves when no webhook delivery attempt is running (tests). */
  webhookIdle(): Promise<void>;
  close(): Promise<void>;
}

class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function errorBody(statusCode: number, code: string, message: string): WindowApiError {
  return { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message };
}

function parseOr400<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const text = parsed.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || what}: ${i.message}`)
    .join('; ');
  throw new ApiError(400, CODES.badRequest, text);
}

function callerOf(req: FastifyRequest): ApiCaller {
  const declared = req.headers[WINDOW_API_CALLER_HEADER];
  let name = 'unnamed';
  if (declared !== undefined) {
    if (typeof declared !== 'string' || !CALLER_NAME.test(declared))
      throw new ApiError(
        400,
        CODES.badRequest,
        `${WINDOW_API_CALLER_HEADER} must match ${CALLER_NAME.source}`,
      );
    name = declared;
  }
  const ua = req.headers['user-agent'];
  return {
    name,
    user_agent: typeof ua === 'string' ? ua.slice(0, 200) : null,
    peer: `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`,
  };
}

function fastifyErrorToApi(e: { statusCode?: number; code?: string; message: string }): ApiError {
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, CODES.payloadTooLarge, 'request body too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, CODES.unsupportedMediaType, 'send application/json');
  }
  const status = e.statusCode ?? 500;
  if (status >= 400 && status < 500) return new ApiError(status, CODES.badRequest, e.message);
  return new ApiError(500, CODES.internal, 'internal error');
}

/**
 * Starts the counter's local window-system API (threat T8): loopback only, every /api/v1 call
 * with the terminal's bearer token (compared in constant time), every input checked against the
 * src-shared schemas, every case and ticket stored with its audit entry in one transaction.
 */
export async function startWindowApi(opts: WindowApiOptions): Promise<WindowApi> {
  const host = opts.host ?? '127.0.0.1';
  if (!(LOOPBACK_HOSTS as readonly string[]).includes(host))
    throw new Error(`the window API listens on loopback only (127.0.0.1 or ::1), not ${host}`);
  const { counter } = opts;
  const db = counter.store.db;
  const log = opts.log ?? ((msg: string) => process.emitWarning(`window API: ${msg}`));
  const token = opts.token ?? loadOrCreateToken(counter.opts.dataDir).token;
  const events = new EventEmitter<{ call: [QueueCallEvent] }>();
  const openapi = JSON.stringify(windowApiOpenApi('1'));

  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 });
  app.removeContentTypeParser('text/plain'); // JSON only: anything else is 415

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, _req, reply) => {
    const e = error instanceof ApiError ? error : fastifyErrorToApi(error);
    if (e.statusCode >= 500) log(`internal error: ${error.stack ?? error.message}`);
    return reply.code(e.statusCode).send(errorBody(e.statusCode, e.code, e.message));
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send(errorBody(404, CODES.notFound, `no route ${req.method} ${req.url.split('?')[0]}`)),
  );

  app.addHook('onRequest', async (req, reply) => {
    // A web page the staff opens cannot reach us through DNS rebinding: the Host must be loopback.
    if (!HOST_HEADER.test(req.headers.host ?? ''))
      return reply.code(403).send(errorBody(403, CODES.forbiddenHost, 'Host header must be loopback'));
    if (req.url === '/openapi.json' && req.method === 'GET') return;
    if (!tokenMatches(bearerOf(req.headers.authorization), token))
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send(errorBody(401, CODES.unauthorized, 'missing or wrong bearer token'));
  });

  app.get('/openapi.json', async (_req, reply) => reply.type('application/json').send(openapi));

  const store = <T>(what: string, write: () => T): T => {
    try {
      return write();
    } catch (e) {
      throw new ApiError(503, CODES.storeUnavailable, `${what} not stored: ${(e as Error).message}`);
    }
  };

  app.post(`${WINDOW_API}/case`, async (req, reply: FastifyReply) => {
    const body = parseOr400(openCaseRequestSchema, req.body, 'body');
    const caller = callerOf(req);
    const session = counter.session.view();
    if (session.state === 'rating_open')
      throw new ApiError(
        409,
        CODES.ratingOpen,
        `a rating is already open${session.case_ref ? ` for case ${session.case_ref}` : ''}: close it first`,
      );
    if (session.state === 'signed_out' || session.state === 'paused')
      throw new ApiError(
        409,
        session.state === 'paused' ? CODES.paused : CODES.notSignedIn,
        session.state === 'paused'
          ? 'the window is paused (暂停服务)'
          : 'no staff is signed in at this window',
      );
    if (counter.itemMode(body.item_code) === 'per_case' && ratingOfCase(db, body.case_no))
      throw new ApiError(409, CODES.caseAlreadyRated, `case ${body.case_no} is already rated (一事一评)`);
    // Stored with its audit entry before the window opens: nothing half-written.
    store('case', () => recordCaseOpened(db, counter.audit, body, caller, new Date().toISOString()));
    let view: SessionView;
    try {
      view = counter.openCase(caseInfoOf(body), `api:${caller.name}`, 'api');
    } catch (e) {
      if (e instanceof CodedError && e.code === 'STORE_UNAVAILABLE')
        throw new ApiError(503, CODES.storeUnavailable, e.message);
      if (e instanceof CodedError) throw new ApiError(409, e.code, e.message);
      throw e;
    }
    return reply.code(201).send({
      case_no: body.case_no,
      status: 'pending',
      opened_at: view.opened_at ?? new Date().toISOString(),
      expires_at: view.expires_at,
    });
  });

  app.get(`${WINDOW_API}/case/:no/rating`, async (req) => {
    const { no } = parseOr400(caseParamsSchema, req.params, 'no');
    const state = caseRatingState(db, no, counter.session.view());
    if (!state) throw new ApiError(404, CODES.caseNotFound, `no case ${no} at this counter`);
    return state;
  });

  app.post(`${WINDOW_API}/call`, async (req, reply) => {
    const body = parseOr400(queueCallRequestSchema, req.body, 'body');
    const caller = callerOf(req);
    const calledAt = new Date().toISOString();
    const id = store('queue call', () => recordQueueCall(db, counter.audit, body, caller, calledAt));
    const reply_: QueueCallReply = { id, ticket: body.ticket, called_at: calledAt };
    events.emit('call', { ...reply_, service_name: body.service_name ?? null, caller: caller.name });
    return reply.code(201).send(reply_);
  });

  const webhook = opts.webhook ? attachCaseWebhook(counter, token, opts.webhook, log) : null;
  try {
    await app.listen({ port: opts.port, host });
  } catch (e) {
    webhook?.close();
    throw e;
  }
  const addr = app.server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  return {
    url,
    events,
    webhookIdle: async () => webhook?.idle(),
    async close() {
      webhook?.close();
      await app.close();
    },
  };
}
