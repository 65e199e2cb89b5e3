import { z } from 'zod';
import {
  enrollmentTokenReplySchema,
  enrollmentTokenRequestSchema,
  enrollReplySchema,
  enrollRequestSchema,
  revokeRequestSchema,
} from '../src-shared/enrollment.ts';
import {
  configBundleSchema,
  configContentSchema,
  configHistoryEntrySchema,
  fleetCommandSchema,
  fleetReplySchema,
  HUB_API,
  heartbeatReplySchema,
  heartbeatRequestSchema,
  hubErrorSchema,
  ingestBatchSchema,
  ingestItemSchema,
  ingestReplySchema,
  legacyRatingRecordSchema,
  queuedCommandSchema,
  ratingRecordSchema,
  statsQuerySchema,
  statsReplySchema,
} from '../src-shared/index.ts';

/**
 * The hub's OpenAPI 3.1 document, generated from the zod schemas in src-shared.
 *
 * Written by hand over a route table rather than with fastify-type-provider-zod + @fastify/swagger
 * (which do fit fastify 5 + zod 4): those move body validation into Fastify's schema compiler, which
 * would change every 400 of the hub (the routes parse with zod themselves so the message names the
 * first bad field, hub/errors.ts describeZodError) and would run before ingest's gunzip/digest hooks
 * see the raw bytes. The table below only describes; the routes keep validating as they do.
 */

/** Who may call a route. `device?` = signed by an enrolled device, or unsigned while the hub allows it. */
export type RouteAuth = 'device' | 'device?' | 'admin' | 'none';

export interface RouteDoc {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Fastify's form (`/api/v1/admin/devices/:id/revoke`); turned into `{id}` in the document. */
  path: string;
  summary: string;
  tag: 'device' | 'admin' | 'reports' | 'ops';
  auth: RouteAuth;
  body?: z.ZodType;
  query?: z.ZodType;
  /** Success status and its JSON body (or another content type with a plain description). */
  ok: { status: number; description: string; schema?: z.ZodType; contentType?: string };
  /** Extra error statuses beyond the ones every route of its auth kind can give. */
  errors?: Record<number, string>;
  description?: string;
}

// Where a record is chosen by shape at run time (ingestItemSchema is a transform), the document
// states the two shapes it accepts.
const OVERRIDES = new Map<z.ZodType, () => Record<string, unknown>>([
  [
    ingestItemSchema,
    () => ({
      anyOf: [jsonSchema(ratingRecordSchema, 'input'), jsonSchema(legacyRatingRecordSchema, 'input')],
    }),
  ],
]);

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, {
    io,
    target: 'draft-2020-12',
    // Transforms and refinements have no JSON Schema: the static shape is what a client needs.
    unrepresentable: 'any',
    override: (ctx) => {
      const replace = OVERRIDES.get(ctx.zodSchema as unknown as z.ZodType);
      if (replace) {
        for (const k of Object.keys(ctx.jsonSchema)) delete (ctx.jsonSchema as Record<string, unknown>)[k];
        Object.assign(ctx.jsonSchema, replace());
      }
    },
  }) as Record<string, unknown>;
  return rest;
}

// Routes whose schemas are not in src-shared yet are described as an open object until they are.
const anyObject = z.object({}).loose();

/**
 * Every hub route, one entry each. A route registered in Fastify but missing here fails
 * tests/hub/openapi.test.ts; an entry whose route is not registered (not built yet, or switched
 * off) is left out of the document.
 */
export const HUB_ROUTES: readonly RouteDoc[] = [
  {
    method: 'POST',
    path: `${HUB_API}/ingest`,
    tag: 'device',
    auth: 'device?',
    summary: 'Upload a batch of one device’s ratings, oldest first',
    description:
      'JSON, optionally `Content-Encoding: gzip` (≤ 4 MiB inflated). The hub writes the batch in one ' +
      'transaction, dedups on (device, seq) and event_id, and answers `ack_through_seq`.',
    body: ingestBatchSchema,
    ok: { status: 200, description: 'Stored (or already held)', schema: ingestReplySchema },
    errors: {
      400: 'BAD_REQUEST or HASH_MISMATCH: dead-letter the batch',
      403: 'DEVICE_REVOKED or DEVICE_MISMATCH',
      409: 'SEQ_GAP, CHAIN_MISMATCH or CONFLICT; `cursor` = last seq held',
      413: 'PAYLOAD_TOO_LARGE: halve the batch',
      415: 'UNSUPPORTED_MEDIA_TYPE: a content encoding other than gzip',
    },
  },
  {
    method: 'POST',
    path: `${HUB_API}/enroll`,
    tag: 'device',
    auth: 'none',
    summary: 'Enroll a terminal with a single-use token and its Ed25519 public key',
    body: enrollRequestSchema,
    ok: { status: 201, description: 'Enrolled: sign every request from now on', schema: enrollReplySchema },
    errors: {
      400: 'BAD_REQUEST',
      401: 'ENROLLMENT_TOKEN_INVALID: unknown, expired or already used',
      409: 'DEVICE_ALREADY_ENROLLED',
    },
  },
  {
    method: 'POST',
    path: `${HUB_API}/admin/enrollment-tokens`,
    tag: 'admin',
    auth: 'admin',
    summary: 'Make a single-use enrollment token for one terminal (hall + window)',
    body: enrollmentTokenRequestSchema,
    ok: { status: 201, description: 'Token (shown once)', schema: enrollmentTokenReplySchema },
    errors: { 400: 'BAD_REQUEST' },
  },
  {
    method: 'GET',
    path: `${HUB_API}/admin/devices`,
    tag: 'admin',
    auth: 'admin',
    summary: 'List enrolled devices (revoked ones too)',
    ok: {
      status: 200,
      description: 'Devices',
      schema: z.object({ devices: z.array(z.object({ device_id: z.string() }).loose()) }),
    },
  },
  {
    method: 'POST',
    path: `${HUB_API}/admin/devices/:id/revoke`,
    tag: 'admin',
    auth: 'admin',
    summary: 'Revoke a device: it stops uploading, keeps its data and shows why',
    body: revokeRequestSchema,
    ok: {
      status: 200,
      description: 'Revoked',
      schema: z.object({ device_id: z.string(), revoked: z.literal(true) }),
    },
    errors: { 400: 'BAD_REQUEST', 404: 'NOT_FOUND: no enrolled, unrevoked device' },
  },
  {
    method: 'GET',
    path: `${HUB_API}/admin/dead-letters`,
    tag: 'admin',
    auth: 'admin',
    summary: 'Items kept verbatim whose body the hub cannot read (dead letters)',
    query: z.object({ after: z.string().optional(), limit: z.string().optional() }),
    ok: { status: 200, description: 'Dead letters after the given id', schema: anyObject },
    errors: { 400: 'BAD_REQUEST' },
  },
  {
    method: 'POST',
    path: `${HUB_API}/heartbeat`,
    tag: 'device',
    auth: 'device?',
    summary: 'Heartbeat every 30 s: queue, clock, versions, pad link, store health; answered with commands',
    body: heartbeatRequestSchema,
    ok: { status: 200, description: 'Server time and commands', schema: heartbeatReplySchema },
    errors: { 400: 'BAD_REQUEST', 403: 'DEVICE_REVOKED or DEVICE_MISMATCH' },
  },
  {
    method: 'GET',
    path: `${HUB_API}/config`,
    tag: 'device',
    auth: 'device?',
    summary: 'The signed config bundle of this device’s hall and window (ETag, If-None-Match → 304)',
    query: z.object({ hall_id: z.string().optional(), window_id: z.string().optional() }),
    ok: { status: 200, description: 'Signed bundle', schema: configBundleSchema },
    errors: { 400: 'BAD_REQUEST', 404: 'NO_CONFIG or NO_CONFIG_FOR_WINDOW' },
  },
  ...(['PUT', 'POST'] as const).map(
    (method): RouteDoc => ({
      method,
      path: `${HUB_API}/admin/config`,
      tag: 'admin',
      auth: 'admin',
      summary: 'Publish a new config version for the whole division',
      body: configContentSchema,
      ok: { status: 201, description: 'Published version', schema: configHistoryEntrySchema },
      errors: { 400: 'BAD_REQUEST' },
    }),
  ),
  {
    method: 'GET',
    path: `${HUB_API}/admin/config`,
    tag: 'admin',
    auth: 'admin',
    summary: 'The current config, whole and signed',
    ok: { status: 200, description: 'Signed bundle', schema: configBundleSchema },
    errors: { 404: 'NO_CONFIG' },
  },
  {
    method: 'GET',
    path: `${HUB_API}/admin/config/history`,
    tag: 'admin',
    auth: 'admin',
    summary: 'Published config versions, newest first',
    query: z.object({ limit: z.string().optional() }),
    ok: {
      status: 200,
      description: 'Versions',
      schema: z.object({ versions: z.array(configHistoryEntrySchema) }),
    },
    errors: { 400: 'BAD_REQUEST' },
  },
  ...(['/api/fleet', `${HUB_API}/fleet`] as const).map(
    (path): RouteDoc => ({
      method: 'GET',
      path,
      tag: 'reports',
      auth: 'none',
      summary: 'Every terminal: last seen, queue, clock, version, alarms',
      ok: { status: 200, description: 'Fleet', schema: fleetReplySchema },
    }),
  ),
  {
    method: 'GET',
    path: '/fleet',
    tag: 'reports',
    auth: 'none',
    summary: 'The fleet as a Chinese HTML page',
    ok: { status: 200, description: 'HTML page', contentType: 'text/html' },
  },
  {
    method: 'POST',
    path: `${HUB_API}/admin/devices/:id/commands`,
    tag: 'admin',
    auth: 'admin',
    summary: 'Queue a command (rewind, resend config, pause) for a terminal’s next heartbeat',
    body: fleetCommandSchema,
    ok: { status: 201, description: 'Queued', schema: queuedCommandSchema },
    errors: { 400: 'BAD_REQUEST', 404: 'NOT_FOUND: no such terminal' },
  },
  {
    method: 'GET',
    path: `${HUB_API}/admin/devices/:id/commands`,
    tag: 'admin',
    auth: 'admin',
    summary: 'Commands queued for a terminal',
    ok: {
      status: 200,
      description: 'Commands, newest first',
      schema: z.object({ commands: z.array(queuedCommandSchema) }),
    },
  },
  {
    method: 'GET',
    path: `${HUB_API}/stats`,
    tag: 'reports',
    auth: 'none',
    summary: 'Counts and the three indicators per window per day (Asia/Shanghai days)',
    query: statsQuerySchema,
    ok: { status: 200, description: 'Statistics', schema: statsReplySchema },
    errors: { 400: 'BAD_REQUEST: bad date, from after to, or over 366 days' },
  },
  {
    method: 'GET',
    path: '/',
    tag: 'reports',
    auth: 'none',
    summary: 'Today’s counts per window as a Chinese HTML page',
    ok: { status: 200, description: 'HTML page', contentType: 'text/html' },
  },
  {
    method: 'GET',
    path: '/healthz',
    tag: 'ops',
    auth: 'none',
    summary: 'Liveness and store health',
    ok: { status: 200, description: 'Store answers', schema: z.object({ status: z.literal('ok') }) },
    errors: { 503: 'STORE_UNAVAILABLE' },
  },
  {
    method: 'GET',
    path: '/metrics',
    tag: 'ops',
    auth: 'none',
    summary: 'Prometheus metrics',
    ok: { status: 200, description: 'Prometheus text format 0.0.4', contentType: 'text/plain' },
  },
  {
    method: 'GET',
    path: '/openapi.json',
    tag: 'ops',
    auth: 'none',
    summary: 'This document',
    ok: { status: 200, description: 'OpenAPI 3.1', schema: z.object({ openapi: z.string() }).loose() },
  },
];

const ERROR_REF = { $ref: '#/components/schemas/Error' };
const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: ERROR_REF } },
});

/** Statuses every route of an auth kind may answer, besides its own. */
function commonErrors(auth: RouteAuth): Record<number, string> {
  const limited = {
    429: 'RATE_LIMITED: wait Retry-After seconds',
    500: 'INTERNAL',
    503: 'STORE_UNAVAILABLE',
  };
  if (auth === 'admin') return { 401: 'ADMIN_TOKEN_REQUIRED', ...limited };
  if (auth === 'device' || auth === 'device?')
    return {
      401: 'UNSIGNED, MALFORMED_SIGNATURE, BAD_DIGEST, UNKNOWN_DEVICE, BAD_SIGNATURE, CLOCK_SKEW or REPLAYED; carries server_time',
      ...limited,
    };
  return limited;
}

function securityOf(auth: RouteAuth, requireSignatures: boolean): Record<string, string[]>[] {
  switch (auth) {
    case 'admin':
      return [{ adminBearer: [] }];
    case 'device':
      return [{ deviceSignature: [] }];
    case 'device?':
      return requireSignatures ? [{ deviceSignature: [] }] : [{ deviceSignature: [] }, {}];
    default:
      return [];
  }
}

function operation(route: RouteDoc, requireSignatures: boolean): Record<string, unknown> {
  const op: Record<string, unknown> = {
    operationId: `${route.method.toLowerCase()}${route.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c?: string) => (c ? c.toUpperCase() : ''))}`,
    summary: route.summary,
    tags: [route.tag],
    security: securityOf(route.auth, requireSignatures),
  };
  if (route.description) op.description = route.description;
  const parameters: Record<string, unknown>[] = [];
  for (const name of route.path.matchAll(/:([A-Za-z_]+)/g)) {
    parameters.push({ name: name[1], in: 'path', required: true, schema: { type: 'string' } });
  }
  if (route.query) {
    const q = jsonSchema(route.query, 'input') as {
      properties?: Record<string, unknown>;
      required?: string[];
    };
    for (const [name, schema] of Object.entries(q.properties ?? {})) {
      parameters.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema });
    }
  }
  if (parameters.length > 0) op.parameters = parameters;
  if (route.body) {
    op.requestBody = {
      required: true,
      content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
    };
  }
  const responses: Record<string, unknown> = {
    [String(route.ok.status)]: {
      description: route.ok.description,
      ...(route.ok.schema
        ? { content: { 'application/json': { schema: jsonSchema(route.ok.schema, 'output') } } }
        : route.ok.contentType
          ? { content: { [route.ok.contentType]: { schema: { type: 'string' } } } }
          : {}),
    },
  };
  const errors = { ...commonErrors(route.auth), ...route.errors };
  if (route.body) errors[413] ??= 'PAYLOAD_TOO_LARGE';
  for (const [status, text] of Object.entries(errors)) responses[status] = errorResponse(text);
  op.responses = responses;
  return op;
}

export interface OpenApiOptions {
  version: string;
  requireSignatures: boolean;
  /** `METHOD path` of each route Fastify has; entries of HUB_ROUTES not in it are left out. */
  registered?: ReadonlySet<string>;
}

export const routeKey = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

/** Builds the document (once per hub: it is served as a constant). */
export function hubOpenApi(opts: OpenApiOptions): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of HUB_ROUTES) {
    if (opts.registered && !opts.registered.has(routeKey(route.method, route.path))) continue;
    const path = route.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(route, opts.requireSignatures);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'haocha hub API',
      version: opts.version,
      description:
        'The division’s 好差评 hub: counters upload signed rating batches; IT staff enroll and revoke ' +
        'terminals; reports and operations endpoints. Every error body is the Error schema.',
    },
    tags: [
      { name: 'device', description: 'Called by counters' },
      { name: 'admin', description: 'IT staff, with the hub admin token (DATA/admin.token)' },
      { name: 'reports', description: 'Statistics' },
      { name: 'ops', description: 'Health, metrics, this document' },
    ],
    paths,
    components: {
      schemas: { Error: jsonSchema(hubErrorSchema, 'output') },
      securitySchemes: {
        deviceSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'Signature',
          description:
            'HTTP Message Signatures (RFC 9421) with the device’s Ed25519 key: `Signature-Input` covers ' +
            '@method, @path, @query, content-digest, with created (±300 s) and a single-use nonce; ' +
            'keyid = device id. See src-shared/signing.ts.',
        },
        adminBearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'The hub admin token from DATA/admin.token',
        },
      },
    },
  };
}
