import { z } from 'zod';
import { CALL_NAMES, EVENT_NAMES } from './call-names.ts';
import { levelSchema } from './levels.ts';

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

export const sessionStateSchema = z.enum(['idle', 'rating_open', 'thanks']);
export type SessionState = z.infer<typeof sessionStateSchema>;

export const sessionViewSchema = z.strictObject({
  state: sessionStateSchema,
  staff: staffViewSchema.nullable(),
  case_ref: z.string().nullable(),
  opened_at: z.string().nullable(),
  /** When an open rating window times out (ISO), null when it stays open until closed. */
  expires_at: z.string().nullable(),
  /** Receipt code of the rating just given, shown with 谢谢; never the level. */
  receipt: z.string().nullable(),
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

export const syncViewSchema = z.strictObject({
  queue_depth: z.number().int(),
  last_acked_seq: z.number().int(),
  oldest_unsent_age_s: z.number().nullable(),
  hub: z.enum(['ok', 'unreachable', 'rejected', 'unknown']),
  last_error: z.string().nullable(),
});
export type SyncView = z.infer<typeof syncViewSchema>;

export const counterStatusSchema = z.strictObject({
  device_id: z.string(),
  session: sessionViewSchema,
  pad: padViewSchema,
  sync: syncViewSchema,
});
export type CounterStatus = z.infer<typeof counterStatusSchema>;

const empty = z.strictObject({});

export const calls = {
  'session.get': { input: empty, output: sessionViewSchema },
  /** Staff open a rating window for the citizen in front of them (case_ref from the business system, or none for 一次一评). */
  'rating.open': {
    input: z.strictObject({ case_ref: z.string().trim().min(1).max(64).nullable().optional() }),
    output: sessionViewSchema,
  },
  'rating.cancel': { input: empty, output: sessionViewSchema },
  /** A touch on the citizen screen; resolves only after the rating is committed to the store. */
  'rating.submit': {
    input: z.strictObject({ level: levelSchema }),
    output: z.strictObject({ receipt: z.string() }),
  },
  'status.get': { input: empty, output: counterStatusSchema },
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
