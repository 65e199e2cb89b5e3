import { z } from 'zod';
import { channelSchema, levelSchema } from './levels.ts';

/** RFC 9562 UUID version 7: time-ordered, so the hub's unique index stays fast (architecture.md). */
export const uuidV7Schema = z
  .string()
  .regex(
    /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    'must be a lowercase UUIDv7',
  );

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits (SHA-256)');
const isoTime = z.iso.datetime({ offset: true });
const shortText = (max: number) => z.string().min(1).max(max);

/** What the pad told us about the physical press, so any rating traces back to it (电子监察). */
export const padPressSchema = z.object({
  boot_id: z.number().int().min(0).max(0xffffffff),
  press_id: z.number().int().min(1).max(0xffffffff),
  key: z.number().int().min(1).max(5),
});
export type PadPress = z.infer<typeof padPressSchema>;

/** The six detailed dimensions (细化评价) of domain.md, each optionally rated 5..1. */
export const DIMENSIONS = ['promise', 'attitude', 'quality', 'materials', 'efficiency', 'integrity'] as const;
export type Dimension = (typeof DIMENSIONS)[number];
export const DIMENSION_LABELS_ZH: Readonly<Record<Dimension, string>> = {
  promise: '承诺履行',
  attitude: '服务态度',
  quality: '服务质量',
  materials: '申请材料',
  efficiency: '办事效率',
  integrity: '勤政廉洁',
};
export const dimensionsSchema = z.strictObject({
  promise: levelSchema.optional(),
  attitude: levelSchema.optional(),
  quality: levelSchema.optional(),
  materials: levelSchema.optional(),
  efficiency: levelSchema.optional(),
  integrity: levelSchema.optional(),
});
export type Dimensions = z.infer<typeof dimensionsSchema>;

/**
 * Misuse signals recorded with a rating (threat T1); they flag, never drop: no_case = the window
 * was opened without a case; burst = several presses just before this one; after_staff_action =
 * given within seconds of staff opening the window on this terminal; off_hours = outside opening hours.
 */
export const FRAUD_SIGNALS = ['no_case', 'burst', 'after_staff_action', 'off_hours'] as const;
export const fraudSignalSchema = z.enum(FRAUD_SIGNALS);
export type FraudSignal = z.infer<typeof fraudSignalSchema>;

/** rated = the citizen gave a level; not_rated = the window closed without one (未评价). */
export const ratingOutcomeSchema = z.enum(['rated', 'not_rated']);
export type RatingOutcome = z.infer<typeof ratingOutcomeSchema>;

/** not_required (not a 差评), given, or not_given (a 差评 whose reason step timed out or had no screen). */
export const reasonStatusSchema = z.enum(['not_required', 'given', 'not_given']);
export type ReasonStatus = z.infer<typeof reasonStatusSchema>;

/** Rater type of the national record: person = 自然人, company = 法人/企业, unknown when no case says. */
export const raterTypeSchema = z.enum(['person', 'company', 'unknown']);
export type RaterType = z.infer<typeof raterTypeSchema>;

/** Contact of a named rater, from the business system, for the follow-up call; absent when anonymous. */
export const raterContactSchema = z.strictObject({
  name: z.string().min(1).max(64).nullable(),
  phone: z.string().min(3).max(32).nullable(),
});
export type RaterContact = z.infer<typeof raterContactSchema>;

/** Reason codes are short dictionary codes such as "501". */
export const reasonCodeSchema = z.string().regex(/^[0-9A-Za-z_-]{1,16}$/, 'must be a dictionary code');

/**
 * One rating as the counter records it and the hub stores it. A record is never edited:
 * corrections are new records. `seq` is gap-free per device; `prev_hash`/`hash` chain the stream.
 * Field names follow the national record (domain.md "Facts from real deployments").
 */
const ratingRecordObject = z.strictObject({
  event_id: uuidV7Schema,
  device_id: shortText(64),
  seq: z.number().int().min(1),
  outcome: ratingOutcomeSchema,
  /** 5..1; null exactly when outcome is not_rated. */
  level: levelSchema.nullable(),
  channel: channelSchema,
  /** Case number (办件编号, projectNo) from the window's business system; null for 一次一评 (a visit with no case). */
  case_ref: z.string().min(1).max(64).nullable(),
  /** Service item (事项, taskCode/taskName), case status and accept/finish times, as the business system gave them. */
  item_code: z.string().min(1).max(64).nullable(),
  item_name: z.string().min(1).max(200).nullable(),
  case_status: z.string().min(1).max(32).nullable(),
  accepted_at: isoTime.nullable(),
  finished_at: isoTime.nullable(),
  /** 1 = first rating, 2 = follow-up rating (追评); the counter gives first ratings. */
  assess_number: z.union([z.literal(1), z.literal(2)]),
  reasons: z.array(reasonCodeSchema).max(10),
  reason_status: reasonStatusSchema,
  /** Version of the reason dictionary the codes come from (null when no reason was asked). */
  reason_dict_version: z.string().min(1).max(32).nullable(),
  dimensions: dimensionsSchema.nullable(),
  free_text: z.string().min(1).max(500).nullable(),
  rater_type: raterTypeSchema,
  anonymous: z.boolean(),
  rater: raterContactSchema.nullable(),
  signals: z.array(fraudSignalSchema).max(FRAUD_SIGNALS.length),
  staff_no: shortText(32),
  staff_name: shortText(64),
  window_id: shortText(32),
  hall_id: shortText(32),
  dept_id: z.string().min(1).max(32).nullable(),
  /** Version of the configuration (staff, items, dictionaries) in force when the rating was given. */
  config_version: z.string().min(1).max(64),
  /** When the rating window opened and when the level was given (or the window closed unrated): wall clock, as the counter saw it. */
  opened_at: isoTime,
  rated_at: isoTime,
  /** Monotonic milliseconds since the counter process started, and that start's id: lets the hub correct a wrong wall clock. */
  mono_ms: z.number().nonnegative(),
  app_boot_id: uuidV7Schema,
  source: z.enum(['pad', 'screen', 'wedge', 'timeout']),
  pad: padPressSchema.nullable(),
  prev_hash: hex64,
  hash: hex64,
});

/**
 * The rules across a record's fields, as (field, message) pairs: none for a sound record. One
 * function for the schema below and for the hub's compiled check of the same shape
 * (hub/ingest-fast-check.ts), so the two cannot drift apart.
 */
export function ratingRuleIssues(r: RatingRecord): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  const fail = (path: string, message: string) => issues.push({ path, message });
  if ((r.outcome === 'rated') !== (r.level !== null))
    fail('level', 'must be 5..1 when rated and null when not_rated');
  if (r.anonymous && r.rater !== null) fail('rater', 'must be null for an anonymous rating');
  if (r.outcome === 'not_rated' && r.source !== 'timeout') fail('source', 'must be timeout when not_rated');
  const bad = r.level !== null && r.level <= 2;
  if (!bad && r.reason_status !== 'not_required') fail('reason_status', 'must be not_required unless a 差评');
  if (bad && r.reason_status === 'not_required') fail('reason_status', 'a 差评 is given or not_given');
  if ((r.reason_status === 'given') !== r.reasons.length > 0)
    fail('reasons', 'must be non-empty exactly when reason_status is given');
  if (r.reason_status !== 'not_required' && r.reason_dict_version === null)
    fail('reason_dict_version', 'required with a 差评');
  if (r.reasons.length > 1 && new Set(r.reasons).size !== r.reasons.length)
    fail('reasons', 'must not repeat a code');
  return issues;
}

export const ratingRecordSchema = ratingRecordObject.superRefine((r, ctx) => {
  for (const { path, message } of ratingRuleIssues(r))
    ctx.addIssue({ code: 'custom', path: [path], message });
});
export type RatingRecord = z.infer<typeof ratingRecordObject>;

/** The record without its chain fields: what the hash covers together with prev_hash. */
export type RatingBody = Omit<RatingRecord, 'hash'>;

/**
 * A record written before the national fields existed (counter store schema 1–2). Its hash
 * covers exactly these fields, so it travels in this shape forever: rewriting it would break
 * the chain. The hub reads it as outcome rated, no case details, not anonymous, no signals.
 */
export const legacyRatingRecordSchema = z.strictObject({
  event_id: uuidV7Schema,
  device_id: shortText(64),
  seq: z.number().int().min(1),
  level: levelSchema,
  channel: channelSchema,
  case_ref: z.string().min(1).max(64).nullable(),
  staff_no: shortText(32),
  staff_name: shortText(64),
  window_id: shortText(32),
  hall_id: shortText(32),
  opened_at: isoTime,
  rated_at: isoTime,
  mono_ms: z.number().nonnegative(),
  app_boot_id: uuidV7Schema,
  source: z.enum(['pad', 'screen']),
  pad: padPressSchema.nullable(),
  prev_hash: hex64,
  hash: hex64,
});
export type LegacyRatingRecord = z.infer<typeof legacyRatingRecordSchema>;

/** What a device's stream carries: current records, and legacy ones written before the upgrade. */
export const anyRatingRecordSchema = z.union([ratingRecordSchema, legacyRatingRecordSchema]);
export type AnyRatingRecord = RatingRecord | LegacyRatingRecord;

export function isLegacyRecord(r: AnyRatingRecord): r is LegacyRatingRecord {
  return !('outcome' in r);
}

/** First link of every device's chain. */
export const GENESIS_HASH = '0'.repeat(64);
