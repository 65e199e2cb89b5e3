import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HUB_HTTP_ERROR_CODES, HubHttpError } from './errors.ts';
import { HUB_ROUTES, type RouteAuth, routeKey } from './openapi.ts';

/** At most `max` requests per `windowMs` for one key (fixed window, @fastify/rate-limit's local store). */
export interface RateRule {
  max: number;
  windowMs: number;
}

/**
 * Limits per class of route. `device`: counter-facing routes (ingest, heartbeat, config), keyed by
 * the device that signed the request (or, while unsigned uploads are allowed, the device id it
 * names; else the IP). `enroll` and `admin`: keyed by IP. `other`: reports and ops, by IP.
 */
export interface HubRateLimits {
  device: RateRule;
  enroll: RateRule;
  admin: RateRule;
  other: RateRule;
  /** Requests refused by the signature check, per IP (hub/refusal-limit.ts). */
  refused: RateRule;
}

/**
 * A counter sends a batch every few seconds and a heartbeat every 30 s (≈ 0.5 request/s); a drain
 * after days offline sends 500-record batches back to back, a few dozen a second at most on this
 * hardware. 600 per 10 s (60/s) leaves that untouched and stops a device stuck in a retry loop
 * without backoff. Enrollment is by token, once per terminal: 30 a minute per IP is a whole hall
 * being set up, and makes token guessing pointless on top of 128-bit tokens.
 */
export const DEFAULT_RATE_LIMITS: HubRateLimits = {
  device: { max: 600, windowMs: 10_000 },
  enroll: { max: 30, windowMs: 60_000 },
  admin: { max: 120, windowMs: 60_000 },
  other: { max: 3000, windowMs: 60_000 },
  // A hall behind one address with a counter that lost its key or clock refuses a few a minute
  // (uploads back off); 300 a minute is a flood of forged or replayed requests.
  refused: { max: 300, windowMs: 60_000 },
};

type RateClass = Exclude<keyof HubRateLimits, 'refused'>;

const AUTH_CLASS: Record<RouteAuth, RateClass> = {
  device: 'device',
  'device?': 'device',
  admin: 'admin',
  none: 'other',
};

/** Class of a route from its entry in the OpenAPI table (hub/openapi.ts); enroll is singled out. */
function classes(): Map<string, RateClass> {
  const map = new Map<string, RateClass>();
  for (const route of HUB_ROUTES) {
    const cls = route.path.endsWith('/enroll') ? 'enroll' : AUTH_CLASS[route.auth];
    map.set(routeKey(route.method, route.path), cls);
  }
  return map;
}

/** Who a request counts against: the signing device, else the device or window an unsigned request names, else the IP. */
function deviceKey(request: FastifyRequest): string {
  if (request.signedBy !== undefined) return `device:${request.signedBy}`;
  // An upload's body is bytes until parsed; an unsigned one is parsed before this (routes/ingest.ts).
  if (request.unsignedUpload?.ok) return `unsigned:${request.unsignedUpload.batch.device_id}`;
  const body = request.body as { device_id?: unknown } | undefined;
  if (body && typeof body === 'object' && typeof body.device_id === 'string')
    return `unsigned:${body.device_id}`;
  // An unsigned GET (config pull) names its window in the query instead.
  const query = request.query as { hall_id?: unknown; window_id?: unknown } | undefined;
  if (typeof query?.hall_id === 'string' && typeof query.window_id === 'string')
    return `unsigned:${query.hall_id}/${query.window_id}`;
  return `ip:${request.ip}`;
}

/**
 * Registers @fastify/rate-limit on every route (before the routes are added). It runs as the last
 * preHandler, after device trust, so the key is the authenticated device; a request refused by
 * trust (401) is not counted. 429 carries Retry-After and the hub's error body.
 */
export async function registerRateLimits(app: FastifyInstance, limits: HubRateLimits): Promise<void> {
  const byRoute = classes();
  const classOf = (request: FastifyRequest): RateClass =>
    byRoute.get(routeKey(request.method, request.routeOptions.url ?? '')) ?? 'other';
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    keyGenerator: (request) => {
      const cls = classOf(request);
      return cls === 'device' ? `${cls}|${deviceKey(request)}` : `${cls}|ip:${request.ip}`;
    },
    max: (request) => limits[classOf(request)].max,
    timeWindow: (request) => limits[classOf(request)].windowMs,
    onExceeded: (request, key) => request.log.warn({ key }, 'rate limit exceeded'),
    errorResponseBuilder: (_request, ctx) =>
      new HubHttpError(
        429,
        HUB_HTTP_ERROR_CODES.rateLimited,
        `more than ${ctx.max} requests in this window: retry in ${ctx.after}`,
      ),
  });
}
