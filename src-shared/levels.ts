import { z } from 'zod';

/**
 * Internal rating level: 5 = 非常满意 … 1 = 非常不满意 (domain.md). 差评 ⇔ level ≤ 2.
 * Pad keys are physical positions and are mapped to levels by the device profile, never here.
 */
export const LEVELS = [5, 4, 3, 2, 1] as const;
export type Level = (typeof LEVELS)[number];
export const levelSchema = z.union([z.literal(5), z.literal(4), z.literal(3), z.literal(2), z.literal(1)]);

/** Official Chinese labels; UI text goes through i18n, these are the record's canonical names. */
export const LEVEL_LABELS_ZH: Readonly<Record<Level, string>> = {
  5: '非常满意',
  4: '满意',
  3: '基本满意',
  2: '不满意',
  1: '非常不满意',
};

export function isBadRating(level: Level): boolean {
  return level <= 2;
}

/** Standard EVP/1 profile: key 1 (leftmost) = 非常满意 … key 5 = 非常不满意. */
export function levelFromStandardKey(key: number): Level {
  if (!Number.isInteger(key) || key < 1 || key > 5) throw new RangeError(`pad key out of range: ${key}`);
  return (6 - key) as Level;
}

/**
 * Channel codes of the national interface (pf): 4 = hall evaluator pad, 5 = other hall or
 * self-service terminal. The counter only produces these two.
 */
export const CHANNELS = { hallPad: 4, selfService: 5 } as const;
export const channelSchema = z.union([z.literal(4), z.literal(5)]);
export type Channel = z.infer<typeof channelSchema>;
