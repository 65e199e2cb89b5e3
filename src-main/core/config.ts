import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { padConfigSchema } from './pad-config.ts';

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
  staff: z
    .strictObject({
      staff_no: z.string().min(1),
      name: z.string().min(1),
      photo_url: z.string().nullable().default(null),
    })
    .default({ staff_no: '090317', name: '李明', photo_url: null }),
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
  sync: z
    .strictObject({
      interval_ms: z.number().int().min(50).default(2000),
      batch_size: z.number().int().min(1).max(500).default(200),
      backoff_min_ms: z.number().int().min(10).default(1000),
      backoff_max_ms: z.number().int().min(10).default(300_000),
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
