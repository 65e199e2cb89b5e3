import { z } from 'zod';
import {
  alarmSchema,
  padLinkSchema,
  pauseReasonSchema,
  sessionStateSchema,
  syncViewSchema,
} from './calls.ts';

/**
 * Heartbeats (counter → hub every `sync.heartbeat_s`), the commands the hub answers with, and the
 * fleet view. Browser-safe: zod and arithmetic only.
 */

export const HEARTBEAT_PATH_SUFFIX = '/heartbeat';
/** Default heartbeat interval; the hub calls a terminal stale after STALE_INTERVALS of them without one. */
export const DEFAULT_HEARTBEAT_S = 30;
export const STALE_INTERVALS = 3;

const iso = z.iso.datetime({ offset: true });

export const heartbeatRequestSchema = z.strictObject({
  device_id: z.string().min(1).max(64),
  hall_id: z.string().min(1).max(64),
  window_id: z.string().min(1).max(64),
  /** The counter's wall clock when it sent this (may be wrong: the hub compares it with its own). */
  sent_at: iso,
  /** Monotonic ms since the counter process started, on the same clock as the ratings' mono_ms. */
  mono_ms: z.number().min(0),
  /** The counter process's boot id, as in every rating it records this run. */
  app_boot_id: z.string().min(1).max(64),
  /** The counter's heartbeat interval, so the hub knows when it is overdue. */
  heartbeat_s: z.number().int().min(1).max(3600),
  queue_depth: z.number().int().min(0),
  oldest_unsent_age_s: z.number().min(0).nullable(),
  chain_head: z.strictObject({ seq: z.number().int().min(0), hash: z.string().max(64) }),
  /** The offset the counter's request signer learnt from the hub (hub minus counter), or 0. */
  clock_offset_ms: z.number(),
  app_version: z.string().min(1).max(64),
  config_version: z.string().min(1).max(64),
  pad: z.strictObject({
    link: padLinkSchema,
    alarm: z.enum(['stuck_key', 'fault']).nullable(),
  }),
  store: z.strictObject({
    health: z.enum(['ok', 'disk_full', 'read_only', 'error']),
    message: z.string().max(500).nullable(),
  }),
  session: z.strictObject({ state: sessionStateSchema, staff_no: z.string().max(32).nullable() }),
  /** The uploader: halted after a chain mismatch or revocation (it then sends nothing until IT acts). */
  upload: z.strictObject({
    hub: syncViewSchema.shape.hub,
    halted: z.boolean(),
    last_error: z.string().max(500).nullable(),
  }),
  alarms: z.array(alarmSchema).max(20),
});
export type HeartbeatRequest = z.infer<typeof heartbeatRequestSchema>;

/**
 * What the hub may ask of a counter. rewind: mark every rating with seq > to_seq unsent again
 * (the hub's dedup makes the resend harmless); pause: 暂停服务 with that reason; resend_config:
 * fetch the config bundle again.
 */
const rewindCommand = z.strictObject({ type: z.literal('rewind'), to_seq: z.number().int().min(0) });
const resendConfigCommand = z.strictObject({ type: z.literal('resend_config') });
const pauseCommand = z.strictObject({ type: z.literal('pause'), reason: pauseReasonSchema });
export const fleetCommandSchema = z.discriminatedUnion('type', [
  rewindCommand,
  resendConfigCommand,
  pauseCommand,
]);
export type FleetCommand = z.infer<typeof fleetCommandSchema>;
const id = { id: z.number().int() };
/** A command as delivered: with the id the hub recorded its delivery under. */
export const deliveredCommandSchema = z.discriminatedUnion('type', [
  rewindCommand.extend(id),
  resendConfigCommand.extend(id),
  pauseCommand.extend(id),
]);
export type DeliveredCommand = z.infer<typeof deliveredCommandSchema>;

export const heartbeatReplySchema = z.strictObject({
  server_time: iso,
  /** Each delivered exactly once, in the order queued. */
  commands: z.array(deliveredCommandSchema),
  /** The newest config bundle version the hub has for this device; null when it has none. */
  config_version: z.string().nullable(),
});
export type HeartbeatReply = z.infer<typeof heartbeatReplySchema>;

/** A queued command as the admin API shows it. */
export const queuedCommandSchema = z.strictObject({
  id: z.number().int(),
  device_id: z.string(),
  command: fleetCommandSchema,
  queued_at: iso,
  delivered_at: iso.nullable(),
});
export type QueuedCommand = z.infer<typeof queuedCommandSchema>;

export const FLEET_ALARMS = [
  'unstaffed',
  'pad_down',
  'pad_fault',
  'store_error',
  'stale',
  'chain_halted',
  'revoked',
] as const;
export const fleetAlarmSchema = z.enum(FLEET_ALARMS);
export type FleetAlarm = z.infer<typeof fleetAlarmSchema>;

/** Chinese labels first (the fleet page and any console show these). */
export const FLEET_ALARM_LABELS_ZH: Record<FleetAlarm, string> = {
  unstaffed: '窗口空岗',
  pad_down: '评价器断开',
  pad_fault: '评价器故障',
  store_error: '存储故障',
  stale: '心跳中断',
  chain_halted: '上传已停止',
  revoked: '已吊销',
};

export const fleetTerminalSchema = z.strictObject({
  device_id: z.string(),
  hall_id: z.string().nullable(),
  window_id: z.string().nullable(),
  enrolled: z.boolean(),
  /** Last heartbeat received (hub clock), null when it never sent one. */
  last_heartbeat_at: iso.nullable(),
  /** Last heartbeat or upload, whichever is later (hub clock). */
  last_seen_at: iso.nullable(),
  /** The hub's last stored seq for this device (0 when it uploaded nothing). */
  hub_seq: z.number().int().min(0),
  queue_depth: z.number().int().nullable(),
  oldest_unsent_age_s: z.number().nullable(),
  /** Counter clock minus hub clock at the last heartbeat's receipt (network delay ignored). */
  clock_offset_ms: z.number().nullable(),
  app_version: z.string().nullable(),
  config_version: z.string().nullable(),
  pad_link: padLinkSchema.nullable(),
  store_health: z.string().nullable(),
  session_state: sessionStateSchema.nullable(),
  alarms: z.array(fleetAlarmSchema),
  /** Commands queued and not yet delivered. */
  pending_commands: z.number().int().min(0),
});
export type FleetTerminal = z.infer<typeof fleetTerminalSchema>;

export const fleetReplySchema = z.strictObject({
  server_time: iso,
  terminals: z.array(fleetTerminalSchema),
});
export type FleetReply = z.infer<typeof fleetReplySchema>;

/** A (boot, monotonic, hub time) triple from one heartbeat. */
export interface ClockAnchor {
  mono_ms: number;
  /** Hub clock (epoch ms) when the heartbeat arrived. */
  hub_ms: number;
}

/**
 * A rating's time on the hub's clock: the anchor's hub time moved by the monotonic time between
 * the anchor and the rating (same boot). Network delay is ignored: it is the anchor's error bound.
 */
export function correctedMs(anchor: ClockAnchor, ratingMonoMs: number): number {
  return Math.round(anchor.hub_ms + (ratingMonoMs - anchor.mono_ms));
}

/** The anchor nearest in monotonic time (the one least exposed to clock drift); null when none. */
export function nearestAnchor(anchors: readonly ClockAnchor[], monoMs: number): ClockAnchor | null {
  let best: ClockAnchor | null = null;
  for (const a of anchors)
    if (best === null || Math.abs(a.mono_ms - monoMs) < Math.abs(best.mono_ms - monoMs)) best = a;
  return best;
}

/**
 * The same choice as nearestAnchor([below, above]), where below is the last anchor at or before
 * `monoMs` and above the first at or after it, found by binary search in anchors sorted by
 * mono_ms: the hub corrects a whole batch with one lookup of the anchors around it.
 */
export function nearestInSorted(sorted: readonly ClockAnchor[], monoMs: number): ClockAnchor | null {
  // First index whose mono_ms is > monoMs.
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as ClockAnchor).mono_ms <= monoMs) lo = mid + 1;
    else hi = mid;
  }
  const below = sorted[lo - 1];
  const above = below !== undefined && below.mono_ms === monoMs ? below : sorted[lo];
  return nearestAnchor(
    [below, above].filter((a): a is ClockAnchor => a !== undefined),
    monoMs,
  );
}
