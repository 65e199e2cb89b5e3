import { z } from 'zod';

/**
 * The counter's local window-system API: what the window's business system (办件系统) and the
 * queue system (排队叫号) send to the counter on the same PC, over HTTP on loopback with the
 * terminal's bearer token (threat T8). These schemas validate every request and generate the
 * OpenAPI document served at `/openapi.json`.
 *
 * Privacy rule (threat T2): nothing here gives out an individual rating's level. The business
 * system is the department's own system, operated by the staff being rated; it learns whether a
 * case was rated, the receipt and the time, never what the citizen chose.
 */

/** Version prefix of every window-API path. */
export const WINDOW_API = '/api/v1';

/** Name of the bearer-token file in the counter's data directory (created 0600 at first start). */
export const WINDOW_API_TOKEN_FILE = 'window-api.token';

/** Optional header naming the calling program, logged with every case it opens (threat T8). */
export const WINDOW_API_CALLER_HEADER = 'x-haocha-caller';

const caseNo = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
  .describe('Case number (办件编号) from the business system');

export const applicantTypeSchema = z
  .enum(['person', 'company'])
  .describe('Rater type: person = 自然人, company = 法人/企业');

/** POST {WINDOW_API}/case: open a case for rating (一事一评). */
export const openCaseRequestSchema = z
  .strictObject({
    case_no: caseNo,
    item_code: z.string().trim().min(1).max(64).describe('Service item code (事项编码, taskCode)'),
    item_name: z.string().trim().min(1).max(200).describe('Service item name (事项名称, taskName)'),
    applicant_type: applicantTypeSchema,
    anonymous_allowed: z.boolean().describe('Whether the citizen may rate anonymously'),
    case_status: z
      .string()
      .trim()
      .min(1)
      .max(32)
      .optional()
      .describe('Case status in the business system (办结, …)'),
    accepted_at: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('When the case was accepted (受理时间)'),
    finished_at: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('When the case was finished (办结时间)'),
    dept_code: z.string().trim().min(1).max(32).optional().describe('Handling department code (部门编码)'),
    applicant: z
      .strictObject({
        name: z.string().trim().min(1).max(64).optional(),
        phone: z
          .string()
          .trim()
          .regex(/^[0-9+\- ]{3,32}$/, 'must be a phone number')
          .optional(),
      })
      .optional()
      .describe('Contact for the follow-up call; never stored with an anonymous rating'),
  })
  .describe('Open a rating window for one case');
export type OpenCaseRequest = z.infer<typeof openCaseRequestSchema>;

export const caseRatingStatusSchema = z
  .enum(['pending', 'rated', 'not_rated'])
  .describe(
    'pending: the rating window is open; rated: a rating is committed; not_rated: the window closed without one',
  );
export type CaseRatingStatus = z.infer<typeof caseRatingStatusSchema>;

export const openCaseReplySchema = z.strictObject({
  case_no: z.string(),
  status: z.literal('pending'),
  opened_at: z.iso.datetime({ offset: true }),
  /** When the rating window closes unrated unless the citizen rates first. */
  expires_at: z.iso.datetime({ offset: true }).nullable(),
});
export type OpenCaseReply = z.infer<typeof openCaseReplySchema>;

/** GET {WINDOW_API}/case/:no/rating: the case's rating state, never its level. */
export const caseRatingReplySchema = z.strictObject({
  case_no: z.string(),
  status: caseRatingStatusSchema,
  /** Receipt code the citizen was shown (XXXX-XXXX); null unless rated. */
  receipt: z.string().nullable(),
  rated_at: z.iso.datetime({ offset: true }).nullable(),
});
export type CaseRatingReply = z.infer<typeof caseRatingReplySchema>;

export const caseParamsSchema = z.strictObject({ no: caseNo });

/** POST {WINDOW_API}/call: the queue system called a ticket to this window. */
export const queueCallRequestSchema = z
  .strictObject({
    ticket: z.string().trim().min(1).max(32).describe('Ticket number as shown to the citizen, e.g. A023'),
    service_name: z.string().trim().min(1).max(200).optional(),
  })
  .describe('A queue ticket called to this window');
export type QueueCallRequest = z.infer<typeof queueCallRequestSchema>;

export const queueCallReplySchema = z.strictObject({
  id: z.number().int().min(1),
  ticket: z.string(),
  called_at: z.iso.datetime({ offset: true }),
});
export type QueueCallReply = z.infer<typeof queueCallReplySchema>;

/** Body POSTed to the configured webhook when an API-opened case gets its result. */
export const caseResultWebhookSchema = z.strictObject({
  device_id: z.string(),
  window_id: z.string(),
  case_no: z.string(),
  status: z.enum(['rated', 'not_rated']),
  receipt: z.string().nullable(),
  rated_at: z.iso.datetime({ offset: true }).nullable(),
});
export type CaseResultWebhook = z.infer<typeof caseResultWebhookSchema>;

/** Header carrying HMAC-SHA256(token, body) in hex on webhook calls, so the receiver can check the sender. */
export const WINDOW_API_SIGNATURE_HEADER = 'x-haocha-signature';

/** Error body of every window-API endpoint (Fastify's shape plus a machine code). */
export const windowApiErrorSchema = z.strictObject({
  statusCode: z.number().int(),
  code: z.string(),
  error: z.string(),
  message: z.string(),
});
export type WindowApiError = z.infer<typeof windowApiErrorSchema>;

export const WINDOW_API_ERROR_CODES = {
  badRequest: 'BAD_REQUEST',
  unauthorized: 'UNAUTHORIZED',
  forbiddenHost: 'FORBIDDEN_HOST',
  notFound: 'NOT_FOUND',
  caseNotFound: 'CASE_NOT_FOUND',
  ratingOpen: 'RATING_OPEN',
  caseAlreadyRated: 'CASE_ALREADY_RATED',
  notSignedIn: 'NOT_SIGNED_IN',
  paused: 'PAUSED',
  payloadTooLarge: 'PAYLOAD_TOO_LARGE',
  unsupportedMediaType: 'UNSUPPORTED_MEDIA_TYPE',
  storeUnavailable: 'STORE_UNAVAILABLE',
  internal: 'INTERNAL',
} as const;
