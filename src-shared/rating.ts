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

/**
 * One rating as the counter records it and the hub stores it. A record is never edited:
 * corrections are new records. `seq` is gap-free per device; `prev_hash`/`hash` chain the stream.
 */
export const ratingRecordSchema = z.strictObject({
  event_id: uuidV7Schema,
  device_id: shortText(64),
  seq: z.number().int().min(1),
  level: levelSchema,
  channel: channelSchema,
  /** Case number (办件编号) from the window's business system; null for 一次一评 (a visit with no case). */
  case_ref: z.string().min(1).max(64).nullable(),
  staff_no: shortText(32),
  staff_name: shortText(64),
  window_id: shortText(32),
  hall_id: shortText(32),
  /** When the rating window opened and when the level was given: wall clock, as the counter saw it. */
  opened_at: isoTime,
  rated_at: isoTime,
  /** Monotonic milliseconds since the counter process started, and that start's id: lets the hub correct a wrong wall clock. */
  mono_ms: z.number().nonnegative(),
  app_boot_id: uuidV7Schema,
  source: z.enum(['pad', 'screen']),
  pad: padPressSchema.nullable(),
  prev_hash: hex64,
  hash: hex64,
});
export type RatingRecord = z.infer<typeof ratingRecordSchema>;

/** The record without its chain fields: what the hash covers together with prev_hash. */
export type RatingBody = Omit<RatingRecord, 'hash'>;

/** First link of every device's chain. */
export const GENESIS_HASH = '0'.repeat(64);
