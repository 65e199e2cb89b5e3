import { z } from 'zod';
import { CALL_NAMES, EVENT_NAMES } from './call-names.ts';
import { levelSchema } from './levels.ts';
import { dimensionsSchema, reasonCodeSchema } from './rating.ts';

/** The 差评 reason dictionary pushed from the centre: versioned; each code belongs to one level. */
export const reasonDictionarySchema = z.strictObject({
  version: z.string().min(1).max(32),
  reasons: z
    .array(
      z.strictObject({
        code: reasonCodeSchema,
        level: z.union([z.literal(2), z.literal(1)]),
        /** Text per locale; zh-Hans is required, others fall back to it. */
        text: z.record(z.string(), z.string().min(1)).refine((t) => typeof t['zh-Hans'] === 'string', {
          message: 'needs a zh-Hans text',
        }),
      }),
    )
    .min(1),
});
export type ReasonDictionary = z.infer<typeof reasonDictionarySchema>;

export { CALL_NAMES, EVENT_NAMES };

/**
 * The counter's call/event map: the one contract between the UI and the core services, whatever
 * carries it (Electron IPC, the devhost's WebSocket, or in-process in unit tests).
 *
 * Privacy rule (ui-guidelines.md §2, threat T2): nothing here that the staff screen receives
 * carries an individual rating's level or reason. `rating.submit` takes a level in; nothing gives one out.
 */

export const staffViewSchema = z.strictObject({
  staff_no: z.string(),
  name: z.string(),
  window_id: z.string(),
  hall_id: z.string(),
  photo_url: z.string().nullable(),
});
export type StaffView = z.infer<typeof staffViewSchema>;

/**
 * signed_out: nobody staffs the window (it cannot take ratings); idle: staff signed in, no rating
 * open; paused: 暂停服务; rating_open: the citizen may rate; thanks: a rating was just committed.
 */
export const sessionStateSchema = z.enum(['signed_out', 'idle', 'paused', 'rating_open', 'thanks']);
export type SessionState = z.infer<typeof sessionStateSchema>;

export const PAUSE_REASONS = ['break', 'meeting', 'business', 'other'] as const;
export const pauseReasonSchema = z.enum(PAUSE_REASONS);
export type PauseReason = z.infer<typeof pauseReasonSchema>;

export const sessionViewSchema = z.strictObject({
  state: sessionStateSchema,
  staff: staffViewSchema.nullable(),
  case_ref: z.string().nullable(),
  opened_at: z.string().nullable(),
  /** When an open rating window times out (ISO), null when it stays open until closed. */
  expires_at: z.string().nullable(),
  /** Receipt code of the rating just given, shown with 谢谢; never the level. */
  receipt: z.string().nullable(),
  /** Why service is paused (暂停服务), while paused. */
  pause_reason: pauseReasonSchema.nullable(),
  /** The case being rated, as the citizen may see it (item name; whether anonymous is offered). */
  case: z
    .strictObject({
      item_name: z.string().nullable(),
      anonymous_allowed: z.boolean(),
    })
    .nullable(),
});
export type SessionView = z.infer<typeof sessionViewSchema>;

export const padLinkSchema = z.enum(['none', 'connecting', 'up', 'down']);
export const padViewSchema = z.strictObject({
  link: padLinkSchema,
  path: z.string().nullable(),
  model: z.string().nullable(),
  boot_id: z.number().nullable(),
  frames: z.number().int(),
  bad_crc: z.number().int(),
  /** Times the decoder dropped a false start of frame and searched again (noise on the line). */
  resyncs: z.number().int(),
  dropped_bytes: z.number().int(),
  /** The pad's own serial number from its HELLO (EVP/1 only): names the pad whatever port it is on. */
  serial: z.string().nullable(),
  /** Host frames sent again for want of an ACK, over all connections: a poor line shows here first. */
  retransmits: z.number().int(),
  /** Connection attempts after the first (unplugs, dead links, a port that would not open). */
  reconnects: z.number().int(),
  /** A stuck key (its presses are not rated) or a pad FAULT; null when all is well. */
  alarm: z
    .strictObject({
      kind: z.enum(['stuck_key', 'fault']),
      /** The stuck key, when known (a FAULT does not say which). */
      key: z.number().int().min(1).max(5).optional(),
      since: z.string(),
    })
    .nullable(),
});
export type PadView = z.infer<typeof padViewSchema>;

/** No pad attached: the view a counter starts with, and the base of every other. */
export const NO_PAD: PadView = Object.freeze({
  link: 'none',
  path: null,
  model: null,
  boot_id: null,
  frames: 0,
  bad_crc: 0,
  resyncs: 0,
  dropped_bytes: 0,
  serial: null,
  retransmits: 0,
  reconnects: 0,
  alarm: null,
});

export const syncViewSchema = z.strictObject({
  queue_depth: z.number().int(),
  last_acked_seq: z.number().int(),
  oldest_unsent_age_s: z.number().nullable(),
  /** revoked: the hub revoked this terminal; uploading stopped, every rating is kept. */
  hub: z.enum(['ok', 'unreachable', 'rejected', 'revoked', 'unknown']),
  last_error: z.string().nullable(),
  // Upload progress (optional so views from older counters still parse).
  /** Ratings acked per second over the last minute of uploading; null before any upload. */
  upload_rate: z.number().min(0).nullable().optional(),
  /** Seconds until the queue is drained at that rate; 0 when empty, null when unknown (no rate yet). */
  eta_s: z.number().min(0).nullable().optional(),
  /** Ratings the hub kept as dead letters (it cannot read them): never lost, but IT must look. */
  dead_letters: z.number().int().min(0).optional(),
});
export type SyncView = z.infer<typeof syncViewSchema>;

/** Can the store take a rating now? Shown on screen and in `haocha status` when not ok. */
export const storeViewSchema = z.strictObject({
  health: z.enum(['ok', 'disk_full', 'read_only', 'error']),
  message: z.string().nullable(),
  /** quick_check at start: recovered means a damaged file was kept aside and a fresh store opened. */
  integrity: z.enum(['ok', 'recovered']),
  damaged_copy: z.string().nullable(),
  schema_version: z.number().int(),
});
export type StoreView = z.infer<typeof storeViewSchema>;

/** Conditions the hall and the hub must hear about (窗口不空岗, a stuck pad key, a store that cannot write). */
export const alarmSchema = z.strictObject({
  kind: z.enum(['unstaffed', 'pad_stuck_key', 'pad_down', 'store', 'dead_letter', 'config']),
  since: z.string(),
  message: z.string(),
});
export type Alarm = z.infer<typeof alarmSchema>;

export const counterStatusSchema = z.strictObject({
  device_id: z.string(),
  session: sessionViewSchema,
  /** The case whose rating window is open, for IT (the staff screen shows it anyway). */
  open_case: z.string().nullable(),
  pad: padViewSchema,
  sync: syncViewSchema,
  store: storeViewSchema,
  alarms: z.array(alarmSchema),
});
export type CounterStatus = z.infer<typeof counterStatusSchema>;

const empty = z.strictObject({});

/** Device trust as IT sees it on the provisioning panel (device.trust_status, device.enroll). */
export const trustStatusSchema = z.strictObject({
  device_id: z.string(),
  /** The hub this counter uploads to. */
  hub_url: z.string(),
  /** DATA/enrollment.json says this counter is enrolled. */
  enrolled: z.boolean(),
  /** Enrolled and its key loaded: uploads, heartbeats and config pulls are signed from now on. */
  signing: z.boolean(),
  hall_id: z.string().nullable(),
  window_id: z.string().nullable(),
  enrolled_at: z.string().nullable(),
  /** Why an enrolled counter does not sign (key missing, keystore refused, file damaged), for IT. */
  problem: z.string().nullable(),
});
export type TrustStatus = z.infer<typeof trustStatusSchema>;

export const calls = {
  'session.get': { input: empty, output: sessionViewSchema },
  /** Staff open a rating window for the citizen in front of them (case_ref from the business system, or none for 一次一评). */
  'rating.open': {
    input: z.strictObject({ case_ref: z.string().trim().min(1).max(64).nullable().optional() }),
    output: sessionViewSchema,
  },
  'rating.cancel': { input: empty, output: sessionViewSchema },
  /**
   * The citizen's rating from the screen; resolves only after it is committed to the store.
   * A 差评 carries at least one reason code of its level, or `reason_timed_out` when the reason
   * step ran out of time (the level is kept, "reason not given").
   */
  'rating.submit': {
    input: z.strictObject({
      level: levelSchema,
      reasons: z.array(reasonCodeSchema).max(10).optional(),
      reason_timed_out: z.boolean().optional(),
      dimensions: dimensionsSchema.optional(),
      free_text: z.string().trim().min(1).max(500).optional(),
      anonymous: z.boolean().optional(),
      /** 'wedge' when a keyboard-wedge pad's key (F1–F5) gave the level, 'screen' (default) for a touch. */
      source: z.enum(['screen', 'wedge']).optional(),
    }),
    output: z.strictObject({ receipt: z.string() }),
  },
  'status.get': { input: empty, output: counterStatusSchema },
  /** Staff sign in at the counter with their staff number and PIN. */
  'staff.sign_in': {
    input: z.strictObject({
      staff_no: z.string().trim().min(1).max(32),
      pin: z.string().regex(/^[0-9]{4,12}$/, 'PIN must be 4 to 12 digits'),
    }),
    output: sessionViewSchema,
  },
  'staff.sign_out': { input: empty, output: sessionViewSchema },
  'staff.pause': { input: z.strictObject({ reason: pauseReasonSchema }), output: sessionViewSchema },
  'staff.resume': { input: empty, output: sessionViewSchema },
  /** A touch on the citizen screen while rating: restarts the rating window's idle limit. */
  'rating.activity': { input: empty, output: sessionViewSchema },
  /** The reason dictionary for 差评 (both levels), for the citizen's reason step. */
  'reasons.get': { input: empty, output: reasonDictionarySchema },
  /** IT staff: is this terminal enrolled at the hub, and does it sign its requests? */
  'device.trust_status': { input: empty, output: trustStatusSchema },
  /**
   * IT staff enroll this terminal with the single-use token made at the hub (haocha hub token):
   * typed, or scanned as the token's QR payload. Signing starts at once, without a restart.
   */
  'device.enroll': {
    input: z.strictObject({
      token: z.string().trim().min(16).max(128),
      /** Must be the hub this counter uploads to, when given (the QR code carries it). */
      hub_url: z.url().optional(),
    }),
    output: trustStatusSchema,
  },
} as const;

export type CallName = keyof typeof calls;
export type CallInput<N extends CallName> = z.input<(typeof calls)[N]['input']>;
export type CallOutput<N extends CallName> = z.infer<(typeof calls)[N]['output']>;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
// Compile-time: the dependency-free name lists match the schema maps exactly.
const _callNamesMatch: Same<(typeof CALL_NAMES)[number], CallName> = true;

export const events = {
  session: sessionViewSchema,
  pad: padViewSchema,
  sync: syncViewSchema,
  /** The store's health changed (disk full, read-only, back to ok): both screens say so at once. */
  store: storeViewSchema,
} as const;
export type EventName = keyof typeof events;
export type EventPayload<N extends EventName> = z.infer<(typeof events)[N]>;
const _eventNamesMatch: Same<(typeof EVENT_NAMES)[number], EventName> = true;
void _callNamesMatch;
void _eventNamesMatch;

/** WebSocket framing used by the devhost bridge (Electron IPC carries the same call/event objects). */
export const bridgeRequestSchema = z.strictObject({
  id: z.number().int(),
  call: z.string(),
  args: z.unknown(),
});
export type BridgeRequest = z.infer<typeof bridgeRequestSchema>;
export type BridgeMessage =
  | { kind: 'reply'; id: number; result: import('./result.ts').Result<unknown> }
  | { kind: 'event'; event: EventName; payload: unknown };
