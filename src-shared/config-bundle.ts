import { z } from 'zod';
import { reasonDictionarySchema } from './calls.ts';
import { canonicalJson } from './chain.ts';

/**
 * Config bundles (issue 6 item 4, architecture.md "Sync rules"): the hub's division-wide
 * configuration of staff, halls and windows, service items, reason dictionaries, opening hours,
 * pad profiles and timeouts, versioned and signed by the hub's Ed25519 key. A counter receives the
 * bundle narrowed to its own hall and window (scope), verifies it with the key it learnt at
 * enrollment, and applies it between ratings. Browser-safe: signing lives in config-signing.ts.
 */

const id = z.string().trim().min(1).max(32);
/** A Beijing time of day; 24:00 ends a period at midnight (a 24-hour self-service hall). */
const hhmm = z.string().regex(/^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$/, 'must be HH:MM (00:00 to 24:00)');

/**
 * When the window must be staffed (窗口不空岗). Days follow the official calendar (holidays
 * closed, make-up workdays open); times are Beijing time. Checked by src-main/core/opening-hours.ts.
 */
export const openingHoursSchema = z.strictObject({
  /** Open periods on a working day, e.g. [["10:00","14:00"],["16:00","20:00"]]. */
  periods: z.array(z.tuple([hhmm, hhmm])).min(1),
  /** Weekend halls (some convenience halls open Saturday mornings): periods on non-working days. */
  rest_day_periods: z.array(z.tuple([hhmm, hhmm])).default([]),
});
export type OpeningHours = z.infer<typeof openingHoursSchema>;

/** A staff member who may sign in, with an argon2id PIN hash (never a PIN). */
export const rosterEntrySchema = z.strictObject({
  staff_no: z.string().min(1).max(32),
  name: z.string().min(1).max(64),
  photo_url: z.string().nullable().default(null),
  pin_hash: z.string().startsWith('$argon2', 'must be an argon2 hash (haocha hash-pin)'),
});
export type RosterEntry = z.infer<typeof rosterEntrySchema>;

/** A service item and its rating rule: per_case = 一事一评 (one rating per case), per_visit = 一次一评. */
export const itemModeSchema = z.enum(['per_case', 'per_visit']);
export const serviceItemSchema = z.strictObject({
  code: z.string().min(1).max(64),
  name: z.string().min(1).max(200),
  mode: itemModeSchema,
});
export type ServiceItem = z.infer<typeof serviceItemSchema>;

/** Pad key → internal level (key 1 is the leftmost); a pad wired in reverse has its own profile. */
export const keyLevelsSchema = z.tuple([
  z.number().int(),
  z.number().int(),
  z.number().int(),
  z.number().int(),
  z.number().int(),
]);

/**
 * Timeouts and thresholds a bundle may set, field by field (the counter config uses the same
 * fields with its embedded defaults): the division sets them, a hall or window may override some.
 */
export const counterSettingsFields = {
  /** Seconds after a rating during which further presses are ignored repeats. */
  ignore_window_s: z.number().min(0).max(120),
  burst_presses: z.number().int().min(2).max(20),
  burst_window_s: z.number().min(1).max(120),
  after_staff_action_s: z.number().min(0).max(30),
  /** Minutes without signed-in staff during opening hours before the 窗口不空岗 alarm. */
  unstaffed_alarm_min: z.number().min(1).max(240),
  pin_max_attempts: z.number().int().min(1).max(20),
  pin_lock_s: z.number().int().min(10).max(3600),
  /** Seconds a rating window stays open without a press. */
  rating_timeout_s: z.number().int().min(5).max(600),
  thanks_s: z.number().min(1).max(60),
} as const;
export const counterSettingsSchema = z.strictObject(counterSettingsFields);
export type CounterSettings = z.infer<typeof counterSettingsSchema>;
const settingsOverrideSchema = counterSettingsSchema.partial();

export const configHallSchema = z.strictObject({
  hall_id: id,
  hall_name: z.string().min(1).max(100),
  /** Overrides the division's opening hours for every window of this hall. */
  opening_hours: openingHoursSchema.optional(),
  settings: settingsOverrideSchema.optional(),
});

export const configWindowSchema = z.strictObject({
  hall_id: id,
  window_id: id,
  window_name: z.string().min(1).max(100),
  /** 4 = hall evaluator pad, 5 = self-service terminal (national channel codes). */
  channel: z.union([z.literal(4), z.literal(5)]).default(4),
  dept_id: z.string().min(1).nullable().default(null),
  /** Name of an entry in pad_profiles; null keeps the standard EVP/1 key map. */
  pad_profile: z.string().min(1).nullable().default(null),
  /** Staff numbers who may sign in here; null: every staff member of the hall. */
  staff: z.array(z.string().min(1).max(32)).nullable().default(null),
  /** Staff signed in at start with no PIN (unattended self-service terminals); null on a staffed counter. */
  auto_sign_in: z.string().min(1).nullable().default(null),
  opening_hours: openingHoursSchema.optional(),
  settings: settingsOverrideSchema.optional(),
});

/** What IT staff publish at the hub: one division-wide document. */
export const configContentSchema = z
  .strictObject({
    halls: z.array(configHallSchema).min(1),
    windows: z.array(configWindowSchema).min(1),
    /** Staff with the halls they serve in (null: any hall of the division). */
    roster: z.array(rosterEntrySchema.extend({ hall_ids: z.array(id).nullable().default(null) }).strict()),
    items: z.array(serviceItemSchema).default([]),
    /** Rule for items not listed. */
    default_item_mode: itemModeSchema.default('per_case'),
    reasons: reasonDictionarySchema,
    opening_hours: openingHoursSchema,
    /** Named key maps for pads wired differently; the codec and baud stay in the counter's local config. */
    pad_profiles: z.record(z.string().min(1), z.strictObject({ key_levels: keyLevelsSchema })).default({}),
    settings: counterSettingsSchema,
  })
  .superRefine((c, ctx) => {
    const dup = (values: string[], path: string, what: string) => {
      const seen = new Set<string>();
      values.forEach((v, i) => {
        if (seen.has(v)) ctx.addIssue({ code: 'custom', path: [path, i], message: `duplicate ${what} ${v}` });
        seen.add(v);
      });
    };
    dup(
      c.halls.map((h) => h.hall_id),
      'halls',
      'hall_id',
    );
    dup(
      c.windows.map((w) => `${w.hall_id}/${w.window_id}`),
      'windows',
      'window',
    );
    dup(
      c.roster.map((s) => s.staff_no),
      'roster',
      'staff_no',
    );
    dup(
      c.items.map((i) => i.code),
      'items',
      'item code',
    );
    const halls = new Set(c.halls.map((h) => h.hall_id));
    const staff = new Map(c.roster.map((s) => [s.staff_no, s]));
    c.windows.forEach((w, i) => {
      if (!halls.has(w.hall_id))
        ctx.addIssue({
          code: 'custom',
          path: ['windows', i, 'hall_id'],
          message: `no hall ${w.hall_id} in halls`,
        });
      if (w.pad_profile !== null && !(w.pad_profile in c.pad_profiles))
        ctx.addIssue({
          code: 'custom',
          path: ['windows', i, 'pad_profile'],
          message: `no pad profile ${w.pad_profile} in pad_profiles`,
        });
      for (const s of [...(w.staff ?? []), ...(w.auto_sign_in ? [w.auto_sign_in] : [])]) {
        const entry = staff.get(s);
        if (!entry)
          ctx.addIssue({ code: 'custom', path: ['windows', i, 'staff'], message: `no staff ${s} in roster` });
        // Else the window's narrowed bundle would name staff it does not carry, and fail at the counter.
        else if (entry.hall_ids !== null && !entry.hall_ids.includes(w.hall_id))
          ctx.addIssue({
            code: 'custom',
            path: ['windows', i, 'staff'],
            message: `staff ${s} does not serve in hall ${w.hall_id} (roster hall_ids)`,
          });
      }
    });
    c.roster.forEach((s, i) => {
      for (const h of s.hall_ids ?? [])
        if (!halls.has(h))
          ctx.addIssue({ code: 'custom', path: ['roster', i, 'hall_ids'], message: `no hall ${h} in halls` });
    });
  });
export type ConfigContent = z.infer<typeof configContentSchema>;
export type ConfigContentInput = z.input<typeof configContentSchema>;

/** Which part of the division a bundle is for: both null for the division-wide document. */
export const configScopeSchema = z.strictObject({
  hall_id: id.nullable(),
  window_id: id.nullable(),
});
export type ConfigScope = z.infer<typeof configScopeSchema>;

export const bundleSignatureSchema = z.strictObject({
  alg: z.literal('ed25519'),
  /** First 16 hex digits of SHA-256 over the hub's raw public key: names the key in logs. */
  key_id: z.string().min(1).max(64),
  /** base64 Ed25519 signature over signingInput(bundle). */
  value: z.string().min(1),
});

/**
 * A bundle as it travels: `seq` orders versions (a counter never goes back to a lower one),
 * `version` is what ratings record. Unsigned (signature null) only for a counter whose config
 * allows it (see docs/decisions.md "Config bundles").
 */
export const configBundleSchema = z.strictObject({
  seq: z.number().int().min(1),
  version: z.string().min(1).max(64),
  issued_at: z.iso.datetime({ offset: true }),
  scope: configScopeSchema,
  content: configContentSchema,
  signature: bundleSignatureSchema.nullable(),
});
export type ConfigBundle = z.infer<typeof configBundleSchema>;

/** GET {HUB_API}/admin/config/history: the versions, newest first, without their content. */
export const configHistoryEntrySchema = z.strictObject({
  seq: z.number().int(),
  version: z.string(),
  issued_at: z.string(),
  content_sha256: z.string(),
});
export type ConfigHistoryEntry = z.infer<typeof configHistoryEntrySchema>;

export const CONFIG_PATH = '/api/v1/config';
export const ADMIN_CONFIG_PATH = '/api/v1/admin/config';

/** Version names read as dates and sort within a day: "2026.11.26-3" (Beijing date, then seq). */
export function configVersionName(seq: number, issuedAt: Date): string {
  const beijing = new Date(issuedAt.getTime() + 8 * 3600_000).toISOString().slice(0, 10);
  return `${beijing.replaceAll('-', '.')}-${seq}`;
}

/** The exact text a signature covers: the bundle without its signature, in canonical JSON. */
export function signingInput(bundle: Record<string, unknown>): string {
  const { signature: _ignored, ...rest } = bundle;
  return canonicalJson(rest);
}

/**
 * The division-wide content narrowed to one window: only its hall and window, the staff who may
 * sign in there and its pad profile. What a counter receives (it never holds the rest of the
 * division's PIN hashes), and what it resolves its settings from. Null: no such window.
 */
export function narrowContent(
  content: ConfigContent,
  hallId: string,
  windowId: string,
): ConfigContent | null {
  const hall = content.halls.find((h) => h.hall_id === hallId);
  const win = content.windows.find((w) => w.hall_id === hallId && w.window_id === windowId);
  if (!hall || !win) return null;
  const roster = content.roster
    .filter(
      (s) =>
        (s.hall_ids === null || s.hall_ids.includes(hallId)) &&
        (win.staff === null || win.staff.includes(s.staff_no) || s.staff_no === win.auto_sign_in),
    )
    // Only this hall stays named: the narrowed content must pass the same schema at the counter.
    .map((s) => (s.hall_ids === null ? s : { ...s, hall_ids: [hallId] }));
  const profile = win.pad_profile === null ? undefined : content.pad_profiles[win.pad_profile];
  return {
    ...content,
    halls: [hall],
    windows: [win],
    roster,
    pad_profiles: profile && win.pad_profile !== null ? { [win.pad_profile]: profile } : {},
  };
}

/** What a window runs with, after the hall's and the window's overrides. */
export interface ResolvedWindowConfig extends CounterSettings {
  hall_id: string;
  hall_name: string;
  window_id: string;
  window_name: string;
  channel: 4 | 5;
  dept_id: string | null;
  roster: RosterEntry[];
  auto_sign_in: string | null;
  items: ServiceItem[];
  default_item_mode: 'per_case' | 'per_visit';
  reasons: ConfigContent['reasons'];
  opening_hours: OpeningHours;
  /** From the window's pad profile; null: the counter keeps its own (local profile or standard map). */
  key_levels: [number, number, number, number, number] | null;
}

/** Window overrides hall overrides division, field by field for settings, whole for opening hours. */
export function resolveWindow(
  content: ConfigContent,
  hallId: string,
  windowId: string,
): ResolvedWindowConfig | null {
  const narrowed = narrowContent(content, hallId, windowId);
  const hall = narrowed?.halls[0];
  const win = narrowed?.windows[0];
  if (!narrowed || !hall || !win) return null;
  const profile = win.pad_profile === null ? undefined : narrowed.pad_profiles[win.pad_profile];
  return {
    ...narrowed.settings,
    ...hall.settings,
    ...win.settings,
    hall_id: hall.hall_id,
    hall_name: hall.hall_name,
    window_id: win.window_id,
    window_name: win.window_name,
    channel: win.channel,
    dept_id: win.dept_id,
    roster: narrowed.roster.map(({ hall_ids: _h, ...s }) => s),
    auto_sign_in: win.auto_sign_in,
    items: narrowed.items,
    default_item_mode: narrowed.default_item_mode,
    reasons: narrowed.reasons,
    opening_hours: win.opening_hours ?? hall.opening_hours ?? narrowed.opening_hours,
    key_levels: profile ? [...profile.key_levels] : null,
  };
}
