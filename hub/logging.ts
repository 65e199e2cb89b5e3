import type { FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';

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
