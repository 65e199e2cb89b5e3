import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { HUB_ERROR_CODES } from '../src-shared/index.ts';
import { loadOrCreateSecret } from '../src-shared/secret-file.ts';
import { loadOrCreateHubSigningKey } from './config-signing.ts';
import { HUB_HTTP_ERROR_CODES, HubHttpError, hubError, sendHubError } from './errors.ts';
import { HubLogController, hubLoggerOptions } from './logging.ts';
import { HubMetrics } from './metrics.ts';
import { routeKey } from './openapi.ts';
import { DEFAULT_RATE_LIMITS, type HubRateLimits, registerRateLimits } from './rate-limit.ts';
import { RefusalLimiter } from './refusal-limit.ts';
import { configRoutes } from './routes/config.ts';
import type { HubContext } from './routes/context.ts';
import { fleetRoutes } from './routes/fleet.ts';
import { INGEST_PATH, ingestRoutes } from './routes/ingest.ts';
import { openApiRoutes } from './routes/openapi.ts';
import { opsRoutes } from './routes/ops.ts';
import { statsRoutes } from './routes/stats.ts';
import { trustRoutes } from './routes/trust.ts';

/** The hub's admin bearer token (0600 in the data directory): IT staff use it to make enrollment tokens. */
export const ADMIN_TOKEN_FILE = 'admin.token';

import { openStore } from './store/open.ts';
import { type HubStore, StoreUnavailableError } from './store/types.ts';

export interface BuildHubOptions {
  /** Directory of the hub's database (created if missing); the admin token lives here whatever the engine. */
  dataDir: string;
  /** A postgres:// or postgresql:// URL runs the hub on PostgreSQL; absent, SQLite in dataDir. */
  db?: string | undefined;
  /** Fastify/pino logger options; false (the default) for tests. */
  logger?: FastifyServerOptions['logger'];
  /** The hub's clock; tests pin it to check "today". */
  now?: () => Date;
  /**
   * Refuse unsigned uploads (device trust). Off by default during the transition while counters
   * are enrolled; a signed request is always verified either way.
   */
  requireSignatures?: boolean;
  /**
   * Request limits per device / IP (hub/rate-limit.ts). Off (undefined or false) by default here so
   * unit tests can send thousands of batches; startHub (the CLI, benchmarks) turns the defaults on.
   */
  rateLimits?: HubRateLimits | false;
  /** Worker threads parsing upload bodies (hub/ingest-parse-pool.ts); 0 parses inline. Default: one per core but one. */
  parseWorkers?: number | undefined;
  /**
   * Start the parse workers with the hub rather than with the first upload. Off here (each test
   * hub would load a worker); the CLI's hub turns it on, since a hub restarted under a fleet would
   * otherwise hold its first uploads while a worker loads.
   */
  warmParseWorkers?: boolean | undefined;
  /** How long a batch past the cursor waits for the ones before it (hub/routes/ingest.ts). Default SEQ_GAP_WAIT_MS. */
  seqGapWaitMs?: number | undefined;
  /**
   * The opened store as the hub is to use it: benchmarks only, to measure the hub without some of
   * its store's work (bench/lib/discard-ratings.ts). The hub closes what this returns.
   */
  wrapStore?: ((store: HubStore) => HubStore) | undefined;
}

/** Body limit of a route that names none (as before); routes with small bodies name their own. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/**
 * Connections the kernel holds for the hub until its event loop accepts them. Node's default
 * (511) is less than a division's fleet: when 2,000 counters connect at once (the hub restarted,
 * the link back) while the event loop is busy, the kernel drops the SYNs beyond it, and each
 * dropped counter retries after 1, 3, 7, 15, 31 s (TCP's own backoff), so its upload waits half a
 * minute for a hub with capacity to spare. Linux caps it at net.core.somaxconn (4096 on Debian).
 */
export const LISTEN_BACKLOG = 4096;

export interface Hub {
  app: FastifyInstance;
  store: HubStore;
  /** `METHOD url` of every route registered (HEAD routes left out): checked against /openapi.json. */
  routes: ReadonlySet<string>;
  /** Stops serving, then closes the store. */
  close(): Promise<void>;
}

export interface StartHubOptions {
  dataDir: string;
  /** See BuildHubOptions.db. */
  db?: string | undefined;
  /** 0 picks a free port; the returned url carries the real one. */
  port: number;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default true: pino JSON lines on stdout. */
  logger?: FastifyServerOptions['logger'];
  requireSignatures?: boolean;
  /** Default DEFAULT_RATE_LIMITS; false turns them off. */
  rateLimits?: HubRateLimits | false;
  /** See BuildHubOptions.parseWorkers. */
  parseWorkers?: number | undefined;
  /** See BuildHubOptions.warmParseWorkers. */
  warmParseWorkers?: boolean | undefined;
  /** See BuildHubOptions.seqGapWaitMs. */
  seqGapWaitMs?: number | undefined;
  /** See BuildHubOptions.wrapStore. */
  wrapStore?: ((store: HubStore) => HubStore) | undefined;
}

/** Builds the hub (store opened, routes registered, not listening): `app.inject()` drives it in tests. */
export async function buildHub(opts: BuildHubOptions): Promise<Hub> {
  const store = await openStore({ dataDir: opts.dataDir, db: opts.db });
  try {
    return await assemble(opts.wrapStore ? opts.wrapStore(store) : store, opts);
  } catch (error) {
    await store.close();
    throw error;
  }
}

async function assemble(store: HubStore, opts: BuildHubOptions): Promise<Hub> {
  const app = Fastify({
    logger: hubLoggerOptions(opts.logger),
    logController: new HubLogController(),
    bodyLimit: DEFAULT_BODY_LIMIT,
  });
  const routes = new Set<string>();
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat())
      if (method !== 'HEAD') routes.add(routeKey(method, route.url));
  });
  if (opts.rateLimits) await registerRateLimits(app, opts.rateLimits);
  const now = opts.now ?? (() => new Date());
  const context: HubContext = {
    store,
    metrics: new HubMetrics(),
    now,
    refusals: opts.rateLimits
      ? new RefusalLimiter(opts.rateLimits.refused, () => now().getTime())
      : undefined,
  };

  app.setErrorHandler<FastifyError | HubHttpError | StoreUnavailableError>((error, request, reply) => {
    const onIngest = request.routeOptions.url === INGEST_PATH;
    if (error instanceof StoreUnavailableError) {
      request.log.error({ err: error }, 'store unavailable');
      reply.header('retry-after', '5');
      return sendHubError(reply, hubError(503, HUB_HTTP_ERROR_CODES.storeUnavailable, error.message));
    }
    const status = 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 500;
    if (status >= 400 && status < 500) {
      const code = error instanceof HubHttpError ? error.code : clientErrorCode(status);
      if (onIngest) context.metrics.rejectedBatch(code);
      return sendHubError(reply, hubError(status, code, error.message));
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendHubError(
      reply,
      hubError(500, HUB_HTTP_ERROR_CODES.internal, 'internal error: see the hub log'),
    );
  });
  app.setNotFoundHandler((request, reply) =>
    sendHubError(
      reply,
      hubError(404, HUB_HTTP_ERROR_CODES.notFound, `no route ${request.method} ${request.url}`),
    ),
  );
  app.addHook('onClose', async () => {
    await store.close();
  });
  // A reply sent while the hub closes ends its connection. Node's close ends only the connections
  // idle at that moment; one busy then (an upload being stored) would stay open after its reply
  // for the whole keep-alive time (72 s) and hold a service stop that long.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });

  const adminToken = loadOrCreateSecret(opts.dataDir, ADMIN_TOKEN_FILE).token;
  await app.register(ingestRoutes, {
    ...context,
    requireSignatures: opts.requireSignatures ?? false,
    parseWorkers: opts.parseWorkers,
    warmParseWorkers: opts.warmParseWorkers,
    seqGapWaitMs: opts.seqGapWaitMs,
  });
  const signingKey = loadOrCreateHubSigningKey(opts.dataDir);
  await app.register(trustRoutes, { ...context, adminToken, hubPublicKey: signingKey.publicKeyB64 });
  await app.register(configRoutes, {
    ...context,
    adminToken,
    signingKey,
    requireSignatures: opts.requireSignatures ?? false,
  });
  await app.register(statsRoutes, context);
  await app.register(fleetRoutes, {
    ...context,
    adminToken,
    requireSignatures: opts.requireSignatures ?? false,
    // Heartbeat replies carry the config version in force: a counter behind it pulls its bundle.
    // Read without the content: 2,000 counters beat 67 times a second, and a division's bundle
    // (staff, items, dictionaries) is large to read and parse each time.
    configVersionOf: async () => (await store.configs.history(1))[0]?.version ?? null,
  });
  await app.register(opsRoutes, context);
  await app.register(openApiRoutes, {
    requireSignatures: opts.requireSignatures ?? false,
    version: '1.0.0',
    registered: routes,
  });
  await app.ready();
  return { app, store, routes, close: () => app.close() };
}

/** Builds the hub and listens; resolves once the port is bound. */
export async function startHub(opts: StartHubOptions): Promise<{ url: string; close(): Promise<void> }> {
  const hub = await buildHub({
    dataDir: opts.dataDir,
    db: opts.db,
    logger: opts.logger ?? true,
    ...(opts.requireSignatures !== undefined ? { requireSignatures: opts.requireSignatures } : {}),
    rateLimits: opts.rateLimits ?? DEFAULT_RATE_LIMITS,
    parseWorkers: opts.parseWorkers,
    warmParseWorkers: opts.warmParseWorkers,
    seqGapWaitMs: opts.seqGapWaitMs,
    wrapStore: opts.wrapStore,
  });
  try {
    await hub.app.listen({ port: opts.port, host: opts.host ?? '127.0.0.1', backlog: LISTEN_BACKLOG });
  } catch (error) {
    await hub.close();
    throw error;
  }
  const address = hub.app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { url: `http://${host}:${address.port}`, close: hub.close };
}

function clientErrorCode(status: number): string {
  switch (status) {
    case 404:
      return HUB_HTTP_ERROR_CODES.notFound;
    case 413:
      return HUB_HTTP_ERROR_CODES.payloadTooLarge;
    case 415:
      return HUB_HTTP_ERROR_CODES.unsupportedMediaType;
    case 429:
      return HUB_HTTP_ERROR_CODES.rateLimited;
    default:
      return HUB_ERROR_CODES.badRequest;
  }
}
