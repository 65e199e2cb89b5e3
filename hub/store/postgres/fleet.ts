import type pg from 'pg';
import {
  type ClockAnchor,
  type DeliveredCommand,
  type FleetCommand,
  fleetCommandSchema,
  type HeartbeatRequest,
  heartbeatRequestSchema,
  type QueuedCommand,
} from '../../../src-shared/index.ts';
import { correctedFields } from '../rows.ts';
import { ANCHOR_SPACING_MS } from '../sqlite-fleet.ts';
import type { FleetStore, FleetTerminalRow } from '../types.ts';
import { guarded, transaction } from './pool.ts';

interface CommandRow {
  id: number;
  device_id: string;
  command: string;
  queued_at: string;
  delivered_at: string | null;
}

/** The fleet on PostgreSQL (migration 4): the same rules as SqliteFleetStore (sqlite-fleet.ts). */
export class PostgresFleetStore implements FleetStore {
  constructor(private readonly pool: pg.Pool) {}

  async heartbeat(request: HeartbeatRequest, receivedAt: Date): Promise<DeliveredCommand[]> {
    return guarded(() =>
      transaction(this.pool, async (client) => {
        const at = receivedAt.toISOString();
        const hubMs = receivedAt.getTime();
        // Counter clock minus hub clock at receipt; the network delay (LAN: milliseconds) is ignored.
        const offset = Date.parse(request.sent_at) - hubMs;
        await client.query(
          `INSERT INTO fleet_heartbeats (device_id, received_at, clock_offset_ms, body) VALUES ($1, $2, $3, $4)
           ON CONFLICT (device_id) DO UPDATE SET received_at = excluded.received_at,
             clock_offset_ms = excluded.clock_offset_ms, body = excluded.body`,
          [request.device_id, at, offset, JSON.stringify(request)],
        );
        const { device_id: device, app_boot_id: boot, mono_ms: mono } = request;
        const near = await client.query(
          `SELECT 1 FROM clock_anchors WHERE device_id = $1 AND app_boot_id = $2 AND mono_ms BETWEEN $3 AND $4
           LIMIT 1`,
          [device, boot, mono - ANCHOR_SPACING_MS, mono + ANCHOR_SPACING_MS],
        );
        if (near.rowCount === 0) {
          await client.query(
            `INSERT INTO clock_anchors (device_id, app_boot_id, mono_ms, hub_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING`,
            [device, boot, mono, hubMs],
          );
        }
        await correct(client, device, boot);
        // One UPDATE takes the pending commands: a concurrent heartbeat waits on the rows, then finds
        // them delivered, so each command goes out once.
        const { rows } = await client.query<CommandRow>(
          `UPDATE fleet_commands SET delivered_at = $2 WHERE device_id = $1 AND delivered_at IS NULL
           RETURNING id, device_id, command, queued_at, delivered_at`,
          [device, at],
        );
        const commands = rows
          .sort((a, b) => a.id - b.id)
          .map((row) => ({ ...fleetCommandSchema.parse(JSON.parse(row.command)), id: row.id }));
        return { value: commands };
      }),
    );
  }

  async queueCommand(deviceId: string, command: FleetCommand, now: Date): Promise<QueuedCommand | null> {
    return guarded(async () => {
      const { rows } = await this.pool.query<CommandRow>(
        `INSERT INTO fleet_commands (device_id, command, queued_at)
         SELECT $1, $2, $3 WHERE EXISTS (
           SELECT 1 FROM devices WHERE device_id = $1
           UNION ALL SELECT 1 FROM enrolled_devices WHERE device_id = $1
           UNION ALL SELECT 1 FROM fleet_heartbeats WHERE device_id = $1)
         RETURNING id, device_id, command, queued_at, delivered_at`,
        [deviceId, JSON.stringify(command), now.toISOString()],
      );
      return rows[0] ? toQueued(rows[0]) : null;
    });
  }

  async commands(deviceId: string): Promise<QueuedCommand[]> {
    const { rows } = await guarded(() =>
      this.pool.query<CommandRow>(
        `SELECT id, device_id, command, queued_at, delivered_at FROM fleet_commands
         WHERE device_id = $1 ORDER BY id DESC LIMIT 200`,
        [deviceId],
      ),
    );
    return rows.map(toQueued);
  }

  async terminals(): Promise<FleetTerminalRow[]> {
    return guarded(() =>
      transaction(this.pool, async (client) => {
        // One snapshot for the whole view; set queries, not one round trip per terminal.
        await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const { rows } = await client.query<{
          device_id: string;
          last_seq: number | null;
          last_seen: string | null;
          e_hall: string | null;
          e_window: string | null;
          enrolled: boolean;
          revoked_at: string | null;
          hb_received_at: string | null;
          clock_offset_ms: number | null;
          body: string | null;
          r_hall: string | null;
          r_window: string | null;
          pending: number;
        }>(
          `WITH ids AS (
             SELECT device_id FROM devices UNION SELECT device_id FROM enrolled_devices
             UNION SELECT device_id FROM fleet_heartbeats)
           SELECT ids.device_id, d.last_seq, d.last_seen,
                  e.hall_id AS e_hall, e.window_id AS e_window, e.device_id IS NOT NULL AS enrolled, e.revoked_at,
                  h.received_at AS hb_received_at, h.clock_offset_ms, h.body,
                  r.hall_id AS r_hall, r.window_id AS r_window,
                  (SELECT count(*)::int FROM fleet_commands c
                    WHERE c.device_id = ids.device_id AND c.delivered_at IS NULL) AS pending
           FROM ids
           LEFT JOIN devices d ON d.device_id = ids.device_id
           LEFT JOIN enrolled_devices e ON e.device_id = ids.device_id
           LEFT JOIN fleet_heartbeats h ON h.device_id = ids.device_id
           LEFT JOIN LATERAL (
             SELECT hall_id, window_id FROM ratings WHERE ratings.device_id = ids.device_id
             ORDER BY seq DESC LIMIT 1) r ON h.device_id IS NULL AND e.device_id IS NULL
           ORDER BY ids.device_id COLLATE "C"`,
        );
        // The lateral join reads the ratings only for terminals with neither a heartbeat row nor an
        // enrollment. A kept heartbeat that no longer parses (written by an older hub) counts as
        // none, as on SQLite, so such a terminal's place comes from its ratings too: read here,
        // rarely needed, rather than a lateral read for every terminal with a heartbeat.
        const requests = rows.map((row) =>
          row.body === null ? null : heartbeatRequestSchema.safeParse(JSON.parse(row.body)),
        );
        for (const [i, row] of rows.entries()) {
          if (row.body === null || row.enrolled || requests[i]?.success) continue;
          const last = await client.query<{ hall_id: string; window_id: string }>(
            'SELECT hall_id, window_id FROM ratings WHERE device_id = $1 ORDER BY seq DESC LIMIT 1',
            [row.device_id],
          );
          row.r_hall = last.rows[0]?.hall_id ?? null;
          row.r_window = last.rows[0]?.window_id ?? null;
        }
        const value = rows.map((row, i): FleetTerminalRow => {
          const request = requests[i] ?? null;
          const heartbeat =
            row.hb_received_at !== null && row.clock_offset_ms !== null && request?.success
              ? {
                  received_at: row.hb_received_at,
                  clock_offset_ms: row.clock_offset_ms,
                  request: request.data,
                }
              : null;
          const place =
            heartbeat?.request ??
            (row.enrolled ? { hall_id: row.e_hall, window_id: row.e_window } : null) ??
            (row.r_hall !== null ? { hall_id: row.r_hall, window_id: row.r_window } : null);
          return {
            device_id: row.device_id,
            hall_id: place?.hall_id ?? null,
            window_id: place?.window_id ?? null,
            enrolled: row.enrolled,
            revoked: row.revoked_at !== null,
            last_upload_at: row.last_seen,
            hub_seq: row.last_seq ?? 0,
            heartbeat,
            pending_commands: row.pending,
          };
        });
        return { value };
      }),
    );
  }
}

/**
 * Gives every rating of this boot that has no corrected time yet one, from the anchor nearest in
 * monotonic time (correctedFields, as SQLite); flags those whose corrected time is before their
 * case's accepted_at. Runs inside the caller's transaction (a heartbeat).
 */
export async function correct(client: pg.PoolClient, deviceId: string, bootId: string): Promise<number> {
  const anchors = await anchorsOfBoot(client, deviceId, bootId);
  if (anchors.length === 0) return 0;
  const { rows } = await client.query<{ id: number; mono_ms: number; accepted_at: string | null }>(
    `SELECT id, mono_ms, accepted_at FROM ratings
     WHERE device_id = $1 AND app_boot_id = $2 AND corrected_at IS NULL`,
    [deviceId, bootId],
  );
  const ids: number[] = [];
  const times: string[] = [];
  const signalTexts: (string | null)[] = [];
  for (const row of rows) {
    const fields = correctedFields(anchors, row.mono_ms, row.accepted_at);
    if (!fields) continue;
    ids.push(row.id);
    times.push(fields.corrected_at);
    signalTexts.push(fields.hub_signals);
  }
  if (ids.length === 0) return 0;
  await client.query(
    `UPDATE ratings SET corrected_at = u.t, hub_signals = u.s,
       flagged = GREATEST(flagged, CASE WHEN u.s IS NULL THEN 0 ELSE 1 END)
     FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u (id, t, s)
     WHERE ratings.id = u.id AND ratings.device_id = $4`,
    [ids, times, signalTexts, deviceId],
  );
  return ids.length;
}

/** Every clock anchor of a boot, in mono_ms order (one every 5 minutes of uptime: a short list). */
export async function anchorsOfBoot(
  client: pg.PoolClient,
  deviceId: string,
  bootId: string,
): Promise<ClockAnchor[]> {
  const { rows } = await client.query<ClockAnchor>(
    'SELECT mono_ms, hub_ms FROM clock_anchors WHERE device_id = $1 AND app_boot_id = $2 ORDER BY mono_ms',
    [deviceId, bootId],
  );
  return rows;
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
