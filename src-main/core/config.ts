import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { rosterEntrySchema, serviceItemSchema } from '../../src-shared/config-bundle.ts';
import { type ReasonDictionary, reasonDictionarySchema } from '../../src-shared/index.ts';
import { DEFAULT_OPENING_HOURS, openingHoursSchema } from './opening-hours.ts';
import { padConfigSchema } from './pad-config.ts';

/** argon2id hash of the demo roster's PIN 246810 (made with `printf 246810 | haocha hash-pin`). */
const DEMO_PIN_HASH =
  '$argon2id$v=19$m=19456,t=2,p=1$VNJMTkD+qkanpHAufoR5ow$hcviBuC3f4uV72vx2SS9+qAqPWDwZvk1mV92/K2g6mA';

/**
 * The embedded 差评 reason dictionary until the centre pushes one: codes per level (2xx 不满意,
 * 1xx 非常不满意) after the common causes in domain.md.
 */
const DEFAULT_REASONS: ReasonDictionary = {
  version: 'embedded-2026.1',
  reasons: [
    { code: '201', level: 2, text: { 'zh-Hans': '办理时间长' } },
    { code: '202', level: 2, text: { 'zh-Hans': '服务态度不好' } },
    { code: '203', level: 2, text: { 'zh-Hans': '材料要求不清楚' } },
    { code: '204', level: 2, text: { 'zh-Hans': '多次跑腿' } },
    { code: '205', level: 2, text: { 'zh-Hans': '其他' } },
    { code: '101', level: 1, text: { 'zh-Hans': '推诿扯皮' } },
    { code: '102', level: 1, text: { 'zh-Hans': '态度恶劣' } },
    { code: '103', level: 1, text: { 'zh-Hans': '吃拿卡要' } },
    { code: '104', level: 1, text: { 'zh-Hans': '未能办成' } },
    { code: '105', level: 1, text: { 'zh-Hans': '其他' } },
  ],
};

/**
 * The counter's configuration. Every field has an embedded default so `npm start` needs no file;
 * a real terminal gets its own via `--config` (later: the hub's signed bundle).
 */
export const counterConfigSchema = z.strictObject({
  hall_id: z.string().min(1).default('DIV9-MAIN'),
  hall_name: z.string().min(1).default('第九师政务服务中心'),
  window_id: z.string().min(1).default('W03'),
  window_name: z.string().min(1).default('3号窗口'),
  /** 4 = hall evaluator pad, 5 = self-service terminal (national channel codes). */
  channel: z.union([z.literal(4), z.literal(5)]).default(4),
  /** Department (部门编码) the window belongs to, for the national record; null in the division hall's shared windows. */
  dept_id: z.string().min(1).nullable().default(null),
  /**
   * Staff who may sign in here, with argon2id PIN hashes (never PINs). The embedded default is the
   * demo roster (PIN 246810): a real terminal's config or the hub's bundle replaces it.
   */
  roster: z
    .array(rosterEntrySchema)
    .default([{ staff_no: '090317', name: '李明', photo_url: null, pin_hash: DEMO_PIN_HASH }]),
  /** Staff number signed in at start with no PIN (demo and unattended self-service terminals); null on a staffed counter. */
  auto_sign_in: z.string().nullable().default('090317'),
  /** Version of this configuration, recorded with every rating (the hub's bundle sets it). */
  config_version: z.string().min(1).max(64).default('embedded-1'),
  /** Service items and their rating rule: per_case = 一事一评 (one rating per case), per_visit = 一次一评 (one per visit). */
  items: z.array(serviceItemSchema).default([]),
  /** Rule for items not listed. */
  default_item_mode: z.enum(['per_case', 'per_visit']).default('per_case'),
  reasons: reasonDictionarySchema.default(DEFAULT_REASONS),
  /** Seconds after a rating during which further presses are logged as ignored repeats (first press counts). */
  ignore_window_s: z.number().min(0).max(120).default(10),
  /** Misuse signals: this many presses within burst_window_s flag the rating; a rating this soon after staff opened the window is flagged. */
  burst_presses: z.number().int().min(2).max(20).default(3),
  burst_window_s: z.number().min(1).max(120).default(10),
  after_staff_action_s: z.number().min(0).max(30).default(2),
  opening_hours: openingHoursSchema.default(DEFAULT_OPENING_HOURS),
  /** Minutes a window may stay without signed-in staff during opening hours before the 窗口不空岗 alarm. */
  unstaffed_alarm_min: z.number().min(1).max(240).default(10),
  /** Days an acked rating stays in the local store before it is pruned (the hub holds it). */
  retention_days: z.number().int().min(1).max(3650).default(30),
  /** Failed PIN attempts before the staff number is locked, and for how long. */
  pin_max_attempts: z.number().int().min(1).max(20).default(5),
  pin_lock_s: z.number().int().min(10).max(3600).default(300),
  /** Seconds a rating window stays open without a press before it closes unrated. */
  rating_timeout_s: z.number().int().min(5).max(600).default(60),
  /** Seconds the thank-you stays before the screen returns to idle. */
  thanks_s: z.number().min(1).max(60).default(5),
  /** Pad key → internal level. The standard EVP/1 pad: key 1 (leftmost) = 5 非常满意. Some pads are wired in reverse. */
  key_levels: z
    .tuple([z.number().int(), z.number().int(), z.number().int(), z.number().int(), z.number().int()])
    .default([5, 4, 3, 2, 1]),
  /** The evaluator pad: path or `auto`, profile, wanted serial (src-main/core/pad-config.ts). */
  pad: padConfigSchema,
  /**
   * Config bundles from the hub (src-main/core/config-sync.ts). An enrolled counter always checks
   * the hub's signature; `allow_unverified` lets an unenrolled (demo) counter take a bundle it
   * cannot check. Off by default: an unverified bundle could replace the roster and its PINs.
   */
  config_sync: z
    .strictObject({
      allow_unverified: z.boolean().default(false),
      /** Seconds between pulls (a 304 when nothing changed); heartbeat hints pull sooner. 0: only on start and hints. */
      interval_s: z.number().int().min(0).max(86_400).default(300),
    })
    .default({ allow_unverified: false, interval_s: 300 }),
  sync: z
    .strictObject({
      interval_ms: z.number().int().min(50).default(2000),
      batch_size: z.number().int().min(1).max(500).default(200),
      backoff_min_ms: z.number().int().min(10).default(1000),
      backoff_max_ms: z.number().int().min(10).default(300_000),
      /** Seconds between heartbeats to the hub; absent = 30 (optional so sync configs written before it still type-check). */
      heartbeat_s: z.number().int().min(1).max(3600).optional(),
      /**
       * Largest gzip-compressed upload body; absent = 262144 (256 KiB, architecture.md). Optional so
       * sync configs written before it still type-check; one record alone may exceed it.
       */
      max_batch_bytes: z
        .number()
        .int()
        .min(1024)
        .max(4 * 1024 * 1024)
        .optional(),
    })
    .default({ interval_ms: 2000, batch_size: 200, backoff_min_ms: 1000, backoff_max_ms: 300_000 }),
});
export type CounterConfig = z.infer<typeof counterConfigSchema>;

export function defaultCounterConfig(): CounterConfig {
  return counterConfigSchema.parse({});
}

/** Reads a JSON config file; a bad file is an error that names the field, never a silent default. */
export function loadCounterConfig(path: string | undefined): CounterConfig {
  if (!path) return defaultCounterConfig();
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read config ${path}: ${(e as Error).message}`);
  }
  const parsed = counterConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`config ${path}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return parsed.data;
}
