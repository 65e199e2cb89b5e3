import { createHash } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import {
  ADMIN_CONFIG_PATH,
  CONFIG_PATH,
  type ConfigBundle,
  type ConfigContent,
  configContentSchema,
  narrowContent,
} from '../../src-shared/config-bundle.ts';
import { signBundle } from '../../src-shared/config-signing.ts';
import type { HubSigningKey } from '../config-signing.ts';
import { describeZodError, HubHttpError } from '../errors.ts';
import type { StoredConfigVersion } from '../store/types.ts';
import type { HubContext } from './context.ts';
import { adminAuth, deviceAuth } from './trust.ts';

export const CONFIG_ERROR_CODES = {
  /** Nothing published yet. */
  noConfig: 'NO_CONFIG',
  /** The published content has no entry for this device's hall and window. */
  noConfigForWindow: 'NO_CONFIG_FOR_WINDOW',
} as const;

export interface ConfigRouteOptions extends HubContext {
  adminToken: string;
  signingKey: HubSigningKey;
  requireSignatures: boolean;
}

/** Strong ETag of the exact body bytes: a counter's If-None-Match answers 304 until a new version. */
function etagOf(body: string): string {
  return `"${createHash('sha256').update(body).digest('base64url')}"`;
}

/** If-None-Match (a list, possibly weak-tagged, or *) against our tag: RFC 9110 weak comparison for GET. */
function notModified(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

/**
 * Config bundles (decisions.md "Config bundles"): IT staff publish the division-wide content with
 * the admin token; each counter pulls it narrowed to its own hall and window, signed by the hub.
 */
export const configRoutes: FastifyPluginAsync<ConfigRouteOptions> = async (app, ctx) => {
  const { store, now, signingKey } = ctx;
  const admin = adminAuth(ctx.adminToken);
  // Parsed content of the newest version, kept while it stays the newest (the store has the text).
  let cached: { seq: number; content: ConfigContent } | null = null;
  const parsedContent = (v: StoredConfigVersion): ConfigContent => {
    if (cached?.seq !== v.seq) cached = { seq: v.seq, content: configContentSchema.parse(v.content) };
    return cached.content;
  };
  const sign = (v: StoredConfigVersion, scope: ConfigBundle['scope'], content: ConfigContent) =>
    signBundle(
      { seq: v.seq, version: v.version, issued_at: v.issued_at, scope, content },
      signingKey.privateKey,
      signingKey.publicKey,
    );

  const publish = async (request: { body: unknown; log: { info: (o: object, m: string) => void } }) => {
    const parsed = configContentSchema.safeParse(request.body);
    if (!parsed.success)
      throw new HubHttpError(400, 'BAD_REQUEST', `config refused: ${describeZodError(parsed.error)}`);
    const stored = await store.configs.publish(parsed.data, now());
    request.log.info({ seq: stored.seq, version: stored.version }, 'config published');
    const { content: _c, ...meta } = stored;
    return meta;
  };
  app.put(ADMIN_CONFIG_PATH, { preHandler: admin }, async (request, reply) =>
    reply.code(201).send(await publish(request)),
  );
  app.post(ADMIN_CONFIG_PATH, { preHandler: admin }, async (request, reply) =>
    reply.code(201).send(await publish(request)),
  );

  app.get(ADMIN_CONFIG_PATH, { preHandler: admin }, async () => {
    const current = await store.configs.current();
    if (!current)
      throw new HubHttpError(404, CONFIG_ERROR_CODES.noConfig, 'no config has been published yet');
    return sign(current, { hall_id: null, window_id: null }, parsedContent(current));
  });

  app.get<{ Querystring: { limit?: string } }>(
    `${ADMIN_CONFIG_PATH}/history`,
    { preHandler: admin },
    async (request) => {
      const limit = Number(request.query.limit ?? 100);
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000)
        throw new HubHttpError(400, 'BAD_REQUEST', 'limit must be a whole number from 1 to 10000');
      return { versions: await store.configs.history(limit) };
    },
  );

  app.get<{ Querystring: { hall_id?: string; window_id?: string } }>(
    CONFIG_PATH,
    { preHandler: deviceAuth(ctx) },
    async (request, reply) => {
      let hallId: string | undefined;
      let windowId: string | undefined;
      if (request.signedBy) {
        // An enrolled device gets its own window's bundle, whatever the query says.
        const device = await store.trust.device(request.signedBy);
        hallId = device?.hall_id;
        windowId = device?.window_id;
      } else {
        // Unsigned: only reaches here on a hub that does not require signatures (demo, transition).
        hallId = request.query.hall_id;
        windowId = request.query.window_id;
      }
      if (!hallId || !windowId)
        throw new HubHttpError(400, 'BAD_REQUEST', 'an unsigned request must name hall_id and window_id');
      const current = await store.configs.current();
      if (!current)
        throw new HubHttpError(404, CONFIG_ERROR_CODES.noConfig, 'no config has been published yet');
      const narrowed = narrowContent(parsedContent(current), hallId, windowId);
      if (!narrowed)
        throw new HubHttpError(
          404,
          CONFIG_ERROR_CODES.noConfigForWindow,
          `config ${current.version} has no window ${hallId}/${windowId}`,
        );
      const body = JSON.stringify(sign(current, { hall_id: hallId, window_id: windowId }, narrowed));
      const etag = etagOf(body);
      reply.header('etag', etag).header('cache-control', 'no-cache');
      if (notModified(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return reply.type('application/json; charset=utf-8').send(body);
    },
  );
};
