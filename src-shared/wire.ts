import { z } from 'zod';
import { levelSchema } from './levels.ts';
import { type AnyRatingRecord, legacyRatingRecordSchema, ratingRecordSchema } from './rating.ts';

/** Hub HTTP API version prefix; every wire path below hangs off it. */
export const HUB_API = '/api/v1';

const LEGACY_KEYS = new Set(Object.keys(legacyRatingRecordSchema.shape));

/**
 * One record of a device's stream, current or legacy. The shape is chosen by the presence of the
 * `outcome` key rather than by a union, so a bad current record is reported at its own field
 * ("items.3.reason_status: …") instead of as "matches no option". A record without `outcome` but
 * with national fields is a current one missing it: reported as "items.3.outcome", not as a list
 * of keys the legacy shape does not know.
 */
export const ingestItemSchema = z.unknown().transform((value, ctx): AnyRatingRecord => {
  const current =
    value !== null &&
    typeof value === 'object' &&
    (Object.hasOwn(value, 'outcome') ||
      Object.keys(value).some((k) => !LEGACY_KEYS.has(k) && k in ratingRecordSchema.shape));
  const parsed = (current ? ratingRecordSchema : legacyRatingRecordSchema).safeParse(value);
  if (parsed.success) return parsed.data;
  // Pushed as they are (code and details kept for the hub's messages); zod prefixes each path with items.N.
  for (const issue of parsed.error.issues) ctx.issues.push(issue as unknown as (typeof ctx.issues)[number]);
  return z.NEVER;
});

/** A counter's upload: one device's records, oldest first, consecutive seq. */
export const MAX_BATCH_ITEMS = 500;
const batchDeviceSchema = z.string().min(1).max(64);

/**
 * What holds across a batch's items: every item is the batch's device's, and seqs run without a
 * gap. As (path, message) pairs, for the schemas below and for the hub's compiled check.
 */
export function batchItemIssues(batch: {
  device_id: string;
  items: readonly { device_id: string; seq: number }[];
}): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  batch.items.forEach((item, i) => {
    if (item.device_id !== batch.device_id) {
      issues.push({
        path: ['items', i, 'device_id'],
        message: 'item device_id differs from the batch device_id',
      });
    }
    const prev = batch.items[i - 1];
    if (prev && item.seq !== prev.seq + 1) {
      issues.push({ path: ['items', i, 'seq'], message: `seq must follow ${prev.seq} without a gap` });
    }
  });
  return issues;
}

function checkBatchItems(
  batch: { device_id: string; items: readonly { device_id: string; seq: number }[] },
  ctx: z.RefinementCtx,
): void {
  for (const { path, message } of batchItemIssues(batch)) ctx.addIssue({ code: 'custom', path, message });
}

export const ingestBatchSchema = z
  .strictObject({
    device_id: batchDeviceSchema,
    items: z.array(ingestItemSchema).min(1).max(MAX_BATCH_ITEMS),
  })
  .superRefine(checkBatchItems);

/**
 * ingestBatchSchema for a batch whose items all carry `outcome`: each is then checked against
 * the current record schema, as ingestItemSchema would choose, but without its per-item wrapper
 * (a third of the check's time on the hub). It accepts exactly the batches of current records
 * ingestBatchSchema accepts, with the same result; for anything it refuses, ask
 * ingestBatchSchema, whose errors name the shape each item was read as.
 */
export const currentIngestBatchSchema = z
  .strictObject({
    device_id: batchDeviceSchema,
    items: z.array(ratingRecordSchema).min(1).max(MAX_BATCH_ITEMS),
  })
  .superRefine(checkBatchItems);

export type IngestBatch = z.infer<typeof ingestBatchSchema>;

/**
 * The envelope of one stream item: what the chain needs, whatever the body holds. An item with a
 * sound envelope and a correct hash whose body the hub cannot read (a newer app's field, a failing
 * rule) is kept as a dead letter instead of blocking the stream (decisions.md "Dead letters").
 */
export const ingestEnvelopeSchema = z.looseObject({
  device_id: z.string().min(1).max(64),
  seq: z.number().int().min(1),
  event_id: z.string().min(1).max(64),
  prev_hash: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits (SHA-256)'),
  hash: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits (SHA-256)'),
});
export type IngestEnvelope = z.infer<typeof ingestEnvelopeSchema>;
/** A batch whose items are checked as envelopes only; bodies are checked item by item after. */
export const ingestEnvelopeBatchSchema = z
  .strictObject({
    device_id: z.string().min(1).max(64),
    items: z.array(ingestEnvelopeSchema).min(1).max(MAX_BATCH_ITEMS),
  })
  .superRefine((batch, ctx) => {
    batch.items.forEach((item, i) => {
      if (item.device_id !== batch.device_id)
        ctx.addIssue({
          code: 'custom',
          path: ['items', i, 'device_id'],
          message: 'item device_id differs from the batch device_id',
        });
      const prev = batch.items[i - 1];
      if (prev && item.seq !== prev.seq + 1)
        ctx.addIssue({
          code: 'custom',
          path: ['items', i, 'seq'],
          message: `seq must follow ${prev.seq} without a gap`,
        });
    });
  });

/**
 * Request header by which a counter says it takes `dead_letter` item statuses. Without it the hub
 * answers a batch with an unreadable body with 400 as before, so older counters see no new status.
 */
export const DEAD_LETTER_HEADER = 'x-haocha-dead-letter';

export const ingestItemStatusSchema = z.enum(['stored', 'duplicate', 'dead_letter']);
export const ingestReplySchema = z.strictObject({
  /** Every seq up to and including this one is durably stored at the hub: the counter may mark them acked. */
  ack_through_seq: z.number().int().min(0),
  items: z.array(
    z.strictObject({
      seq: z.number().int(),
      status: ingestItemStatusSchema,
      /** With dead_letter: why the hub cannot read the record (kept verbatim at the hub). */
      reason: z.string().optional(),
    }),
  ),
  server_time: z.iso.datetime({ offset: true }),
});
export type IngestReply = z.infer<typeof ingestReplySchema>;

/** Error body of every hub endpoint (Fastify's shape, plus a machine code). */
export const hubErrorSchema = z.object({
  statusCode: z.number().int(),
  code: z.string(),
  error: z.string(),
  message: z.string(),
  /** On 409 SEQ_GAP / CHAIN_MISMATCH / CONFLICT: the last seq the hub holds for this device. */
  cursor: z.number().int().min(0).optional(),
  /** On 401 CLOCK_SKEW (and every 401 of device trust): the hub's clock, so the counter re-signs. */
  server_time: z.string().optional(),
});
export type HubError = z.infer<typeof hubErrorSchema>;

export const HUB_ERROR_CODES = {
  badRequest: 'BAD_REQUEST',
  seqGap: 'SEQ_GAP',
  chainMismatch: 'CHAIN_MISMATCH',
  hashMismatch: 'HASH_MISMATCH',
  conflict: 'CONFLICT',
  // Transport-level failures, so a counter can tell "fix the request" from "try again later".
  notFound: 'NOT_FOUND',
  payloadTooLarge: 'PAYLOAD_TOO_LARGE',
  unsupportedMediaType: 'UNSUPPORTED_MEDIA_TYPE',
  storeUnavailable: 'STORE_UNAVAILABLE',
  internal: 'INTERNAL',
} as const;

export const levelCountsSchema = z.strictObject({
  '5': z.number().int(),
  '4': z.number().int(),
  '3': z.number().int(),
  '2': z.number().int(),
  '1': z.number().int(),
});
export type LevelCounts = z.infer<typeof levelCountsSchema>;

/**
 * GET {HUB_API}/stats?from=YYYY-MM-DD&to=YYYY-MM-DD: counts per window per day (Asia/Shanghai days),
 * with the three indicators of GB/T 39734/39735 (domain.md: shown everywhere statistics appear).
 */
export const statsQuerySchema = z.strictObject({
  from: z.iso.date().optional(),
  to: z.iso.date().optional(),
});
const rate = z.number().min(0).max(1).nullable();
/** The figures of one window-day, and of the totals. */
const statsFiguresShape = {
  /** Ratings with a level (outcome rated), by level. */
  counts: levelCountsSchema,
  /** Ratings with a level: the sum of `counts`. */
  total: z.number().int(),
  /** 未评价: rating windows that closed without a level. */
  not_rated: z.number().int(),
  /** Of `total`, ratings carrying an anti-fraud signal: counted, and shown beside for checking. */
  flagged: z.number().int(),
  /** Of `total`, default ratings (no answer in time ⇒ 基本满意); none are made yet. */
  defaults: z.number().int(),
  /** 好评率: (5 + 4) / total; null when total is 0. */
  good_rate: rate,
  /** 主动评价好评率: the same over ratings the citizen gave, i.e. without defaults; null when none. */
  active_good_rate: rate,
  /** 未评价率: not_rated / (total + not_rated); null when both are 0. */
  not_rated_rate: rate,
};
export const statsFiguresSchema = z.strictObject(statsFiguresShape);
export type StatsFigures = z.infer<typeof statsFiguresSchema>;
export const statsRowSchema = z.strictObject({
  day: z.iso.date(),
  hall_id: z.string(),
  window_id: z.string(),
  ...statsFiguresShape,
});
export type StatsRow = z.infer<typeof statsRowSchema>;
export const statsReplySchema = z.strictObject({
  from: z.iso.date(),
  to: z.iso.date(),
  rows: z.array(statsRowSchema),
  totals: statsFiguresSchema,
});
export type StatsReply = z.infer<typeof statsReplySchema>;

export { levelSchema };
