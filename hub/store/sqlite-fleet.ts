import type Database from 'better-sqlite3';
import {
  type ClockAnchor,
  type DeliveredCommand,
  type FleetCommand,
  fleetCommandSchema,
  type HeartbeatRequest,
  heartbeatRequestSchema,
  type QueuedCommand,
} from '../../src-shared/index.ts';
import { correctedFields } from './rows.ts';
import { sqliteGuard, withoutOwnFsync } from './sqlite-guard.ts';
import type { FleetStore, FleetTerminalRow } from './types.ts';

/** One anchor per boot per this much monotonic time: drift over it is far below a second. */
export const ANCHOR_SPACING_MS = 5 * 60_000;

interface CommandRow {
  id: number;
  device_id: string;
  command: string;
  queued_at: string;
  delivered_at: string | null;
}

/** The fleet on the hub's SQLite file (migration 4): heartbeats, clock anchors, commands, corrected times. */
export class SqliteFleetStore implements FleetStore {
  private readonly stmt;
  private readonly heartbeatTx;

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      upsertHeartbeat: db.prepare(
        `INSERT INTO fleet_heartbeats (device_id, received_at, clock_offset_ms, body) VALUES (?, ?, ?, ?)
         ON CONFLICT (device_id) DO UPDATE SET received_at = excluded.received_at,
           clock_offset_ms = excluded.clock_offset_ms, body = excluded.body`,
      ),
      anchorNear: db.prepare<[string, string, number, number], { n: number }>(
        `SELECT COUNT(*) AS n FROM clock_anchors
         WHERE device_id = ? AND app_boot_id = ? AND mono_ms BETWEEN ? AND ?`,
      ),
      insertAnchor: db.prepare(
        `INSERT INTO clock_anchors (device_id, app_boot_id, mono_ms, hub_ms) VALUES (?, ?, ?, ?)
         ON CONFLICT DO NOTHING`,
      ),
      // Nearest anchor in monotonic time: one index seek each side.
      anchorBelow: db.prepare<[string, string, number], ClockAnchor>(
        `SELECT mono_ms, hub_ms FROM clock_anchors WHERE device_id = ? AND app_boot_id = ? AND mono_ms <= ?
         ORDER BY mono_ms DESC LIMIT 1`,
      ),
      anchorAbove: db.prepare<[string, string, number], ClockAnchor>(
        `SELECT mono_ms, hub_ms FROM clock_anchors WHERE device_id = ? AND app_boot_id = ? AND mono_ms >= ?
         ORDER BY mono_ms LIMIT 1`,
      ),
      anchorsBetween: db.prepare<[string, string, number, number], ClockAnchor>(
        `SELECT mono_ms, hub_ms FROM clock_anchors WHERE device_id = ? AND app_boot_id = ?
           AND mono_ms > ? AND mono_ms < ? ORDER BY mono_ms`,
      ),
      hasAnchor: db.prepare<[string, string], { one: number }>(
        'SELECT 1 AS one FROM clock_anchors WHERE device_id = ? AND app_boot_id = ? LIMIT 1',
      ),
      uncorrected: db.prepare<[string, string], { id: number; mono_ms: number; accepted_at: string | null }>(
        `SELECT id, mono_ms, accepted_at FROM ratings
         WHERE device_id = ? AND app_boot_id = ? AND corrected_at IS NULL`,
      ),
      setCorrected: db.prepare<[string, string | null, number, number]>(
        'UPDATE ratings SET corrected_at = ?, hub_signals = ?, flagged = MAX(flagged, ?) WHERE id = ?',
      ),
      pending: db.prepare<[string], CommandRow>(
        'SELECT * FROM fleet_commands WHERE device_id = ? AND delivered_at IS NULL ORDER BY id',
      ),
      markDelivered: db.prepare<[string, number]>('UPDATE fleet_commands SET delivered_at = ? WHERE id = ?'),
      queue: db.prepare<[string, string, string], CommandRow>(
        'INSERT INTO fleet_commands (device_id, command, queued_at) VALUES (?, ?, ?) RETURNING *',
      ),
      commands: db.prepare<[string], CommandRow>(
        'SELECT * FROM fleet_commands WHERE device_id = ? ORDER BY id DESC LIMIT 200',
      ),
      known: db.prepare<[string, string, string], { one: number }>(
        `SELECT 1 AS one FROM devices WHERE device_id = ?
         UNION ALL SELECT 1 FROM enrolled_devices WHERE device_id = ?
         UNION ALL SELECT 1 FROM fleet_heartbeats WHERE device_id = ? LIMIT 1`,
      ),
      ids: db.prepare<[], { device_id: string }>(
        `SELECT device_id FROM devices UNION SELECT device_id FROM enrolled_devices
         UNION SELECT device_id FROM fleet_heartbeats ORDER BY device_id`,
      ),
      cursor: db.prepare<[string], { last_seq: number; last_seen: string }>(
        'SELECT last_seq, last_seen FROM devices WHERE device_id = ?',
      ),
      enrolled: db.prepare<[string], { hall_id: string; window_id: string; revoked_at: string | null }>(
        'SELECT hall_id, window_id, revoked_at FROM enrolled_devices WHERE device_id = ?',
      ),
      lastHeartbeat: db.prepare<[string], { received_at: string; clock_offset_ms: number; body: string }>(
        'SELECT received_at, clock_offset_ms, body FROM fleet_heartbeats WHERE device_id = ?',
      ),
      lastPlace: db.prepare<[string], { hall_id: string; window_id: string }>(
        'SELECT hall_id, window_id FROM ratings WHERE device_id = ? ORDER BY seq DESC LIMIT 1',
      ),
      pendingCount: db.prepare<[string], { n: number }>(
        'SELECT COUNT(*) AS n FROM fleet_commands WHERE device_id = ? AND delivered_at IS NULL',
      ),
    };
    this.heartbeatTx = db.transaction((request: HeartbeatRequest, receivedAt: Date) =>
      this.heartbeatLocked(request, receivedAt),
    ).immediate;
  }

  async heartbeat(request: HeartbeatRequest, receivedAt: Date): Promise<DeliveredCommand[]> {
    // No fsync of its own (67 heartbeats/s at 2,000 counters): losing the last moments of status to
    // a power cut is harmless, the next beat rewrites it, a lost anchor is replaced by the next one
    // (uncorrected ratings are corrected then) and a command whose delivery mark is lost is sent
    // again (rewind, pause and resend_config are idempotent).
    return sqliteGuard(this.db, () => withoutOwnFsync(this.db, () => this.heartbeatTx(request, receivedAt)));
  }

  private heartbeatLocked(request: HeartbeatRequest, receivedAt: Date): DeliveredCommand[] {
    const at = receivedAt.toISOString();
    const hubMs = receivedAt.getTime();
    // Counter clock minus hub clock at receipt; the network delay (LAN: milliseconds) is ignored.
    const offset = Date.parse(request.sent_at) - hubMs;
    this.stmt.upsertHeartbeat.run(request.device_id, at, offset, JSON.stringify(request));
    const { device_id: device, app_boot_id: boot, mono_ms: mono } = request;
    const near = this.stmt.anchorNear.get(device, boot, mono - ANCHOR_SPACING_MS, mono + ANCHOR_SPACING_MS);
    if ((near?.n ?? 0) === 0) this.stmt.insertAnchor.run(device, boot, mono, hubMs);
    this.correct(device, boot);
    const commands: DeliveredCommand[] = [];
    for (const row of this.stmt.pending.all(device)) {
      this.stmt.markDelivered.run(at, row.id);
      commands.push({ ...fleetCommandSchema.parse(JSON.parse(row.command)), id: row.id });
    }
    return commands;
  }

  /**
   * Gives every rating of this boot that has no corrected time yet one, from the anchor nearest in
   * monotonic time; flags those whose corrected time is before their case's accepted_at. Runs
   * inside the caller's transaction (a heartbeat, or an ingest of ratings of this boot).
   */
  correct(deviceId: string, bootId: string): number {
    if (!this.stmt.hasAnchor.get(deviceId, bootId)) return 0;
    const rows = this.stmt.uncorrected.all(deviceId, bootId);
    if (rows.length === 0) return 0;
    let low = Number.POSITIVE_INFINITY;
    let high = Number.NEGATIVE_INFINITY;
    for (const row of rows) {
      low = Math.min(low, row.mono_ms);
      high = Math.max(high, row.mono_ms);
    }
    const anchors = this.anchorsAround(deviceId, bootId, low, high);
    let n = 0;
    for (const row of rows) {
      const fields = correctedFields(anchors, row.mono_ms, row.accepted_at);
      if (!fields) continue;
      this.stmt.setCorrected.run(fields.corrected_at, fields.hub_signals, fields.flagged, row.id);
      n++;
    }
    return n;
  }

  /**
   * The anchors of a boot that can be nearest to a rating with mono_ms in [low, high], in mono_ms
   * order: the last at or before low, every one between, the first at or after high (3 queries a
   * batch, not 2 a rating). Empty when the boot has no anchor yet.
   */
  anchorsAround(deviceId: string, bootId: string, low: number, high: number): ClockAnchor[] {
    const below = this.stmt.anchorBelow.get(deviceId, bootId, low);
    const above = this.stmt.anchorAbove.get(deviceId, bootId, high);
    if (!below && !above) return [];
    return [
      ...(below ? [below] : []),
      ...this.stmt.anchorsBetween.all(deviceId, bootId, below?.mono_ms ?? low, above?.mono_ms ?? high),
      ...(above && above.mono_ms !== below?.mono_ms ? [above] : []),
    ];
  }

  async queueCommand(deviceId: string, command: FleetCommand, now: Date): Promise<QueuedCommand | null> {
    return sqliteGuard(this.db, () =>
      this.db.transaction(() => {
        if (!this.stmt.known.get(deviceId, deviceId, deviceId)) return null;
        const row = this.stmt.queue.get(deviceId, JSON.stringify(command), now.toISOString());
        return row ? toQueued(row) : null;
      })(),
    );
  }

  async commands(deviceId: string): Promise<QueuedCommand[]> {
    return sqliteGuard(this.db, () => this.stmt.commands.all(deviceId).map(toQueued));
  }

  async terminals(): Promise<FleetTerminalRow[]> {
    return sqliteGuard(this.db, () => this.terminalsTx());
  }

  private terminalsTx(): FleetTerminalRow[] {
    return this.db.transaction(() =>
      this.stmt.ids.all().map(({ device_id }) => {
        const cursor = this.stmt.cursor.get(device_id);
        const enrolled = this.stmt.enrolled.get(device_id);
        const hb = this.stmt.lastHeartbeat.get(device_id);
        const request = hb ? heartbeatRequestSchema.safeParse(JSON.parse(hb.body)) : null;
        const heartbeat =
          hb && request?.success
            ? { received_at: hb.received_at, clock_offset_ms: hb.clock_offset_ms, request: request.data }
            : null;
        const place = heartbeat?.request ?? enrolled ?? this.stmt.lastPlace.get(device_id) ?? null;
        return {
          device_id,
          hall_id: place?.hall_id ?? null,
          window_id: place?.window_id ?? null,
          enrolled: enrolled !== undefined,
          revoked: enrolled?.revoked_at != null,
          last_upload_at: cursor?.last_seen ?? null,
          hub_seq: cursor?.last_seq ?? 0,
          heartbeat,
          pending_commands: this.stmt.pendingCount.get(device_id)?.n ?? 0,
        };
      }),
    )();
  }
}

function toQueued(row: CommandRow): QueuedCommand {
  return {
    id: row.id,
    device_id: row.device_id,
    command: fleetCommandSchema.parse(JSON.parse(row.command)),
    queued_at: row.queued_at,
    delivered_at: row.delivered_at,
  };
}
