import { z } from 'zod';
import {
  caseRatingReplySchema,
  caseResultWebhookSchema,
  openCaseReplySchema,
  openCaseRequestSchema,
  queueCallReplySchema,
  queueCallRequestSchema,
  WINDOW_API,
  WINDOW_API_CALLER_HEADER,
  WINDOW_API_SIGNATURE_HEADER,
  windowApiErrorSchema,
} from '../../../src-shared/index.ts';

function schemaOf(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;
  return rest;
}

const json = (ref: string) => ({ content: { 'application/json': { schema: { $ref: ref } } } });
const error = (description: string) => ({ description, ...json('#/components/schemas/Error') });

/** The window API's OpenAPI 3.1 document, generated from the zod schemas in src-shared. */
export function windowApiOpenApi(version: string): Record<string, unknown> {
  const callerHeader = {
    name: WINDOW_API_CALLER_HEADER,
    in: 'header',
    required: false,
    description:
      'Name of the calling program (letters, digits, . _ -), written to the audit log with each case',
    schema: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'haocha counter window API',
      version,
      description:
        'Local API of one counter (好差评 window terminal) for the window business system and the queue system. ' +
        'Loopback only; every /api/v1 call needs the terminal token as `Authorization: Bearer`. ' +
        'An individual rating level is never returned.',
    },
    servers: [{ url: 'http://127.0.0.1' }],
    security: [{ bearer: [] }],
    paths: {
      [`${WINDOW_API}/case`]: {
        post: {
          summary: 'Open a case for rating (一事一评)',
          parameters: [callerHeader],
          requestBody: { required: true, ...json('#/components/schemas/OpenCaseRequest') },
          responses: {
            '201': { description: 'Rating window open', ...json('#/components/schemas/OpenCaseReply') },
            '400': error('Request failed the schema'),
            '401': error('Missing or wrong token'),
            '409': error('A rating is already open (RATING_OPEN) or the case is rated (CASE_ALREADY_RATED)'),
            '503': error('The store cannot commit'),
          },
        },
      },
      [`${WINDOW_API}/case/{no}/rating`]: {
        get: {
          summary:
            "A case's rating state: pending, rated (with receipt and time) or not_rated; never the level",
          parameters: [{ name: 'no', in: 'path', required: true, schema: { type: 'string', maxLength: 64 } }],
          responses: {
            '200': { description: 'State', ...json('#/components/schemas/CaseRatingReply') },
            '401': error('Missing or wrong token'),
            '404': error('No such case at this counter (CASE_NOT_FOUND)'),
          },
        },
      },
      [`${WINDOW_API}/call`]: {
        post: {
          summary: 'A queue ticket was called to this window',
          parameters: [callerHeader],
          requestBody: { required: true, ...json('#/components/schemas/QueueCallRequest') },
          responses: {
            '201': { description: 'Stored', ...json('#/components/schemas/QueueCallReply') },
            '400': error('Request failed the schema'),
            '401': error('Missing or wrong token'),
            '503': error('The store cannot commit'),
          },
        },
      },
      '/openapi.json': {
        get: {
          summary: 'This document',
          security: [],
          responses: { '200': { description: 'OpenAPI 3.1 document' } },
        },
      },
    },
    webhooks: {
      caseResult: {
        post: {
          summary: `Sent to the configured URL when an API-opened case is rated or closes unrated; header ${WINDOW_API_SIGNATURE_HEADER}: sha256=HMAC-SHA256(token, body)`,
          requestBody: { required: true, ...json('#/components/schemas/CaseResultWebhook') },
          responses: { '200': { description: 'Received (any 2xx); anything else is retried with backoff' } },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        OpenCaseRequest: schemaOf(openCaseRequestSchema, 'input'),
        OpenCaseReply: schemaOf(openCaseReplySchema, 'output'),
        CaseRatingReply: schemaOf(caseRatingReplySchema, 'output'),
        QueueCallRequest: schemaOf(queueCallRequestSchema, 'input'),
        QueueCallReply: schemaOf(queueCallReplySchema, 'output'),
        CaseResultWebhook: schemaOf(caseResultWebhookSchema, 'output'),
        Error: schemaOf(windowApiErrorSchema, 'output'),
      },
    },
  };
}
