import { createHash, type KeyObject } from 'node:crypto';
import { type Readable, Transform } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import {
  AUTH_ERROR_CODES,
  enrollmentTokenReplySchema,
  enrollmentTokenRequestSchema,
  enrollReplySchema,
  enrollRequestSchema,
  revokeRequestSchema,
} from '../../src-shared/enrollment.ts';
import { HUB_API } from '../../src-shared/index.ts';
import { bearerOf, tokenMatches } from '../../src-shared/secret-file.ts';
import {
  CLOCK_WINDOW_S,
  importPublicKey,
  type VerifyFailure,
  verifyRequest,
} from '../../src-shared/signing.ts';
import { describeZodError, HUB_HTTP_ERROR_CODES, HubHttpError, hubError, sendHubError } from '../errors.ts';
import { bindDeviceLog } from '../logging.ts';
import type { EnrolledDevice } from '../store/types.ts';
import type { HubContext } from './context.ts';

export const ENROLL_PATH = `${HUB_API}/enroll`;
export const ADMIN_PREFIX = `${HUB_API}/admin`;
/** Far above a division's terminals; past it the cache starts over rather than grow without end. */
const MAX_CACHED_KEYS = 20_000;
/** Enrollment and admin bodies are a few short strings. */
export const TRUST_BODY_LIMIT = 4 * 1024;

declare module 'fastify' {
  interface FastifyRequest {
    /** Content-Digest of the body as it arrived (before gunzip), set by digestBody. */
    bodyDigest?: string;
    /** The enrolled device that signed this request. */
    signedBy?: string;
  }
}

const FAILURE_CODE: Record<VerifyFailure, string> = {
  unsigned: AUTH_ERROR_CODES.unsigned,
  malformed: AUTH_ERROR_CODES.malformedSignature,
  bad_digest: AUTH_ERROR_CODES.badDigest,
  unknown_device: AUTH_ERROR_CODES.unknownDevice,
  clock_skew: AUTH_ERROR_CODES.clockSkew,
  replayed: AUTH_ERROR_CODES.replayed,
  bad_signature: AUTH_ERROR_CODES.badSignature,
};

/** preParsing: hashes the bytes exactly as received, so the signature covers what was sent (gzip or not). */
export async function digestBody(request: FastifyRequest, _reply: unknown, payload: Readable) {
  const hash = createHash('sha256');
  const tee = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
    flush(done) {
      request.bodyDigest = `sha-256=:${hash.digest('base64')}:`;
      done();
    },
  });
  payload.on('error', (e) => tee.destroy(e));
  return payload.pipe(tee);
}

/**
 * Device trust for the counter-facing routes (threats T6, T7): the request must be signed by an
 * enrolled, unrevoked device within the clock window with a fresh nonce. With
 * `requireSignatures` off (a transition setting, logged), unsigned requests pass but a signed
 * one is still checked: a bad signature is never ignored.
 */
export function deviceAuth(ctx: HubContext & { requireSignatures: boolean }) {
  // Imported keys by their stored text: importing from JWK on every request cost as much as the
  // verification. Keyed by the key itself, so a re-enrolled device never meets its old key, and
  // revocation is still read from the store on every request.
  const keys = new Map<string, KeyObject>();
  const keyOf = (raw: string): KeyObject => {
    let key = keys.get(raw);
    if (!key) {
      if (keys.size >= MAX_CACHED_KEYS) keys.clear();
      key = importPublicKey(raw);
      keys.set(raw, key);
    }
    return key;
  };
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const signed =
      request.headers['signature-input'] !== undefined || request.headers.signature !== undefined;
    if (!signed && !ctx.requireSignatures) return;
    const wait = ctx.refusals?.blockedFor(request.ip) ?? 0;
    if (wait > 0) {
      reply.header('retry-after', String(Math.ceil(wait / 1000)));
      return sendHubError(
        reply,
        hubError(
          429,
          HUB_HTTP_ERROR_CODES.rateLimited,
          `too many requests from ${request.ip} refused by the signature check: retry in ${Math.ceil(wait / 1000)} s`,
        ),
      );
    }
    const now = ctx.now();
    const host = request.headers.host ?? 'hub';
    // Looked up once: the key for the signature, then the revocation for the answer.
    const found: { device: EnrolledDevice | null } = { device: null };
    const result = await verifyRequest(
      {
        method: request.method,
        url: `http://${host}${request.url}`,
        headers: request.headers as Record<string, string | string[] | undefined>,
        body: { digest: request.bodyDigest ?? `sha-256=:${createHash('sha256').digest('base64')}:` },
      },
      {
        publicKeyOf: async (id) => {
          found.device = await ctx.store.trust.device(id);
          return found.device ? keyOf(found.device.public_key) : null;
        },
        spendNonce: (id, nonce, created) =>
          ctx.store.trust.spendNonce(id, nonce, created, now, CLOCK_WINDOW_S),
        now,
      },
    );
    if (!result.ok) {
      ctx.refusals?.refused(request.ip);
      request.log.warn({ device_id: result.deviceId, reason: result.reason }, 'request signature refused');
      const body = {
        ...hubError(401, FAILURE_CODE[result.reason], result.message),
        server_time: now.toISOString(),
      };
      return sendHubError(reply, body);
    }
    const device = found.device;
    if (device?.revoked_at) {
      return sendHubError(
        reply,
        hubError(
          403,
          AUTH_ERROR_CODES.revoked,
          `device revoked at ${device.revoked_at}: ${device.revoked_reason ?? ''}`,
        ),
      );
    }
    request.signedBy = result.deviceId;
    bindDeviceLog(request, reply, result.deviceId);
  };
}

/** The hub admin token check (constant-time compare) for every admin route: trust, fleet, config bundles. */
export function adminAuth(adminToken: string) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!tokenMatches(bearerOf(request.headers.authorization), adminToken))
      return sendHubError(
        reply.header('www-authenticate', 'Bearer'),
        hubError(
          401,
          AUTH_ERROR_CODES.adminToken,
          'admin endpoints need the hub admin token (DATA/admin.token)',
        ),
      );
  };
}

/** Enrollment (token once) and the admin endpoints IT staff use to make tokens and revoke devices. */
export const trustRoutes: FastifyPluginAsync<
  HubContext & {
    adminToken: string;
    /** The hub's config-signing public key, told to counters at enrollment. */
    hubPublicKey?: string;
  }
> = async (app, ctx) => {
  const { store, now } = ctx;
  const admin = adminAuth(ctx.adminToken);

  app.post(
    `${ADMIN_PREFIX}/enrollment-tokens`,
    { preHandler: admin, bodyLimit: TRUST_BODY_LIMIT },
    async (request, reply) => {
      const parsed = enrollmentTokenRequestSchema.safeParse(request.body ?? {});
      if (!parsed.success) throw new HubHttpError(400, 'BAD_REQUEST', describeZodError(parsed.error));
      const t = await store.trust.createToken(
        parsed.data.hall_id,
        parsed.data.window_id,
        parsed.data.ttl_s,
        now(),
      );
      request.log.info(
        { hall_id: t.hall_id, window_id: t.window_id, expires_at: t.expires_at },
        'enrollment token made',
      );
      return reply.code(201).send(enrollmentTokenReplySchema.parse(t));
    },
  );

  app.get(`${ADMIN_PREFIX}/devices`, { preHandler: admin }, async () => ({
    devices: await store.trust.devices(),
  }));

  // Dead letters (decisions.md "Dead letters"): items kept verbatim whose body the hub cannot read.
  app.get<{ Querystring: { after?: string; limit?: string } }>(
    `${ADMIN_PREFIX}/dead-letters`,
    { preHandler: admin },
    async (request) => {
      if (!store.listDeadLetters)
        throw new HubHttpError(501, 'NOT_IMPLEMENTED', 'this store keeps no dead letters');
      const after = Number(request.query.after ?? 0);
      const limit = Number(request.query.limit ?? 1000);
      if (!Number.isSafeInteger(after) || after < 0 || !Number.isSafeInteger(limit) || limit < 1)
        throw new HubHttpError(400, 'BAD_REQUEST', 'after and limit must be whole numbers (limit ≥ 1)');
      return store.listDeadLetters({ after, limit });
    },
  );

  app.post<{ Params: { id: string } }>(
    `${ADMIN_PREFIX}/devices/:id/revoke`,
    { preHandler: admin, bodyLimit: TRUST_BODY_LIMIT },
    async (request) => {
      const parsed = revokeRequestSchema.safeParse(request.body ?? {});
      if (!parsed.success) throw new HubHttpError(400, 'BAD_REQUEST', describeZodError(parsed.error));
      const done = await store.trust.revoke(request.params.id, parsed.data.reason, now());
      if (!done)
        throw new HubHttpError(404, 'NOT_FOUND', `no enrolled, unrevoked device ${request.params.id}`);
      request.log.warn({ device_id: request.params.id, reason: parsed.data.reason }, 'device revoked');
      return { device_id: request.params.id, revoked: true };
    },
  );

  app.post(ENROLL_PATH, { bodyLimit: TRUST_BODY_LIMIT }, async (request, reply) => {
    const parsed = enrollRequestSchema.safeParse(request.body);
    if (!parsed.success) throw new HubHttpError(400, 'BAD_REQUEST', describeZodError(parsed.error));
    try {
      importPublicKey(parsed.data.public_key);
    } catch (e) {
      throw new HubHttpError(400, 'BAD_REQUEST', `public_key: ${(e as Error).message}`);
    }
    const at = now();
    const result = await store.trust.enroll(parsed.data, at);
    if (!result.ok) {
      request.log.warn({ device_id: parsed.data.device_id, reason: result.reason }, 'enrollment refused');
      return result.reason === 'token'
        ? sendHubError(
            reply,
            hubError(
              401,
              AUTH_ERROR_CODES.enrollmentToken,
              'enrollment token unknown, expired or already used',
            ),
          )
        : sendHubError(
            reply,
            hubError(
              409,
              AUTH_ERROR_CODES.deviceTaken,
              `device ${parsed.data.device_id} (or this key) is already enrolled`,
            ),
          );
    }
    request.log.info(
      { device_id: result.device.device_id, hall_id: result.device.hall_id },
      'device enrolled',
    );
    return reply.code(201).send(
      enrollReplySchema.parse({
        device_id: result.device.device_id,
        hall_id: result.device.hall_id,
        window_id: result.device.window_id,
        enrolled_at: result.device.enrolled_at,
        server_time: at.toISOString(),
        ...(ctx.hubPublicKey ? { hub_public_key: ctx.hubPublicKey } : {}),
      }),
    );
  });
};
