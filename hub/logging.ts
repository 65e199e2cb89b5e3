import { type FastifyReply, type FastifyRequest, type FastifyServerOptions, LogController } from 'fastify';

/**
 * Never in a log line: the admin bearer token, device signatures, and enrollment tokens wherever a
 * handler might log them. pino's redact replaces them with "[Redacted]" at serialisation.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.signature',
  'req.headers["signature-input"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers.signature',
  'headers["signature-input"]',
  'token',
  '*.token',
  'admin_token',
  '*.admin_token',
];

/** Headers kept in each request log line besides pino's default (method, url, host, remote address). */
const LOGGED_HEADERS = [
  'user-agent',
  'content-length',
  'content-encoding',
  'authorization',
  'signature',
  'signature-input',
];

/**
 * The hub's pino options: JSON lines, secrets redacted, and a few request headers so a line says
 * which client sent what (the auth ones are there to be redacted, so their presence still shows).
 */
export function hubLoggerOptions(
  logger: FastifyServerOptions['logger'] | undefined,
): FastifyServerOptions['logger'] {
  if (logger === undefined || logger === false) return false;
  const base = logger === true ? {} : logger;
  return {
    ...base,
    redact: {
      paths: REDACT_PATHS,
      ...(typeof base.redact === 'object' && !Array.isArray(base.redact) ? base.redact : {}),
    },
    serializers: {
      req: (req: {
        method: string;
        url: string;
        hostname?: string;
        ip?: string;
        headers: Record<string, unknown>;
      }) => {
        const headers: Record<string, unknown> = {};
        for (const name of LOGGED_HEADERS)
          if (req.headers[name] !== undefined) headers[name] = req.headers[name];
        return { method: req.method, url: req.url, host: req.hostname, remoteAddress: req.ip, headers };
      },
      ...base.serializers,
    },
  };
}

/** After device trust: every later log line of the request (including "request completed") names the device. */
export function bindDeviceLog(request: FastifyRequest, reply: FastifyReply, deviceId: string): void {
  request.log = request.log.child({ device_id: deviceId });
  reply.log = request.log;
}

/** A request that took longer than this (ms) is logged at info even when it succeeded. */
export const SLOW_REQUEST_MS = 1000;

/**
 * Fastify's per-request lines, at a level by what happened: a failure at error (5xx) or warn (a
 * refusal: 4xx), a success that took longer than SLOW_REQUEST_MS at info, any other success (and
 * every "incoming request") at debug. At 2,000 counters (a heartbeat each every 30 s, an upload
 * with every few ratings) info for every request is 130 to 900 lines a second, tens of millions a
 * day on a hall server's disk, in which the refusals an operator looks for are lost; the volume
 * is in /metrics. `haocha hub --log-level debug` gives every request again. A line at warn or
 * above carries the request (method, url, the headers kept by the serializer, redacted), since
 * its "incoming request" line is at debug.
 */
export class HubLogController extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (this.isLogDisabled(request)) return;
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (this.isLogDisabled(request)) return;
    const responseTime = reply.elapsedTime;
    if (error) {
      reply.log.error({ req: request, res: reply, err: error, responseTime }, 'request errored');
    } else if (reply.statusCode >= 500) {
      reply.log.error({ req: request, res: reply, responseTime }, 'request completed');
    } else if (reply.statusCode >= 400) {
      reply.log.warn({ req: request, res: reply, responseTime }, 'request completed');
    } else if (responseTime >= SLOW_REQUEST_MS) {
      reply.log.info({ req: request, res: reply, responseTime }, 'request completed');
    } else {
      reply.log.debug({ res: reply, responseTime }, 'request completed');
    }
  }
}
