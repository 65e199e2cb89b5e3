import type { FastifyPluginAsync } from 'fastify';
import { AUTH_ERROR_CODES } from '../../src-shared/enrollment.ts';
import {
  DEFAULT_HEARTBEAT_S,
  type FleetAlarm,
  type FleetReply,
  type FleetTerminal,
  fleetCommandSchema,
  fleetReplySchema,
  HUB_API,
  heartbeatReplySchema,
  heartbeatRequestSchema,
  queuedCommandSchema,
  STALE_INTERVALS,
} from '../../src-shared/index.ts';
import { describeZodError, HubHttpError, hubError, sendHubError } from '../errors.ts';
import { FLEET_PAGE_CSP, renderFleetPage } from '../fleet-page.ts';
import type { FleetTerminalRow } from '../store/types.ts';
import type { HubContext } from './context.ts';
import { ADMIN_PREFIX, adminAuth, deviceAuth, digestBody } from './trust.ts';

export const HEARTBEAT_PATH = `${HUB_API}/heartbeat`;
/** The fleet as JSON (issue 6 names it /api/fleet; the versioned path answers the same). */
export const FLEET_PATHS = ['/api/fleet', `${HUB_API}/fleet`] as const;
export const FLEET_PAGE_PATH = '/fleet';
/** A heartbeat is a few hundred bytes; alarms and error texts are capped by the schema. */
export const HEARTBEAT_BODY_LIMIT = 32 * 1024;

export interface FleetRouteOptions extends HubContext {
  requireSignatures: boolean;
  adminToken: string;
  /**
   * The newest config bundle version the hub has for a device, for the heartbeat reply; the
   * config-bundle routes hook theirs in. Without one the reply says null.
   */
  configVersionOf?: (deviceId: string) => Promise<string | null>;
}

/** Heartbeats in, commands out; the fleet as JSON and as a page; admin commands. */
export const fleetRoutes: FastifyPluginAsync<FleetRouteOptions> = async (app, ctx) => {
  const { store, now } = ctx;
  const auth = deviceAuth(ctx);
  const { fleet } = store;
  const admin = adminAuth(ctx.adminToken);

  app.post(
    HEARTBEAT_PATH,
    { bodyLimit: HEARTBEAT_BODY_LIMIT, preParsing: [digestBody], preHandler: auth },
    async (request, reply) => {
      const parsed = heartbeatRequestSchema.safeParse(request.body);
      if (!parsed.success) throw new HubHttpError(400, 'BAD_REQUEST', describeZodError(parsed.error));
      const hb = parsed.data;
      if (request.signedBy !== undefined && request.signedBy !== hb.device_id)
        return sendHubError(
          reply,
          hubError(
            403,
            AUTH_ERROR_CODES.deviceMismatch,
            `signed by ${request.signedBy}, heartbeat for ${hb.device_id}`,
          ),
        );
      // Stricter than ingest while requireSignatures is off: an enrolled counter always signs, so an
      // unsigned heartbeat in its name is someone else's, and its clock anchor would move the
      // corrected times (and before_accept flags) of that device's ratings.
      if (request.signedBy === undefined) {
        const enrolled = await store.trust.device(hb.device_id);
        if (enrolled)
          return sendHubError(reply, {
            ...hubError(
              401,
              AUTH_ERROR_CODES.unsigned,
              `device ${hb.device_id} is enrolled: its heartbeats must be signed`,
            ),
            server_time: now().toISOString(),
          });
      }
      const at = now();
      const commands = await fleet.heartbeat(hb, at);
      if (commands.length > 0)
        request.log.info({ device_id: hb.device_id, commands }, 'fleet commands delivered');
      const configVersion = ctx.configVersionOf ? await ctx.configVersionOf(hb.device_id) : null;
      return heartbeatReplySchema.parse({
        server_time: at.toISOString(),
        commands,
        config_version: configVersion,
      });
    },
  );

  for (const path of FLEET_PATHS) app.get(path, async () => fleetReply(await fleet.terminals(), now()));

  app.get(FLEET_PAGE_PATH, async (_request, reply) => {
    const view = fleetReply(await fleet.terminals(), now());
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', FLEET_PAGE_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-store')
      .send(renderFleetPage(view));
  });

  app.post<{ Params: { id: string } }>(
    `${ADMIN_PREFIX}/devices/:id/commands`,
    { preHandler: admin },
    async (request, reply) => {
      const parsed = fleetCommandSchema.safeParse(request.body ?? {});
      if (!parsed.success) throw new HubHttpError(400, 'BAD_REQUEST', describeZodError(parsed.error));
      const queued = await fleet.queueCommand(request.params.id, parsed.data, now());
      if (!queued) throw new HubHttpError(404, 'NOT_FOUND', `no terminal ${request.params.id} is known`);
      request.log.warn({ device_id: queued.device_id, command: queued.command }, 'fleet command queued');
      return reply.code(201).send(queuedCommandSchema.parse(queued));
    },
  );

  app.get<{ Params: { id: string } }>(
    `${ADMIN_PREFIX}/devices/:id/commands`,
    { preHandler: admin },
    async (request) => ({ commands: await fleet.commands(request.params.id) }),
  );
};

/** The alarms a terminal shows on the fleet view, from its last heartbeat and the hub's clock. */
export function terminalAlarms(row: FleetTerminalRow, at: Date): FleetAlarm[] {
  const alarms: FleetAlarm[] = [];
  if (row.revoked) alarms.push('revoked');
  const hb = row.heartbeat;
  const intervalS = hb?.request.heartbeat_s ?? DEFAULT_HEARTBEAT_S;
  // Never sent one, or none for more than three of its intervals.
  if (!hb || at.getTime() - Date.parse(hb.received_at) > STALE_INTERVALS * intervalS * 1000)
    alarms.push('stale');
  if (!hb) return alarms;
  const r = hb.request;
  if (r.alarms.some((a) => a.kind === 'unstaffed')) alarms.push('unstaffed');
  if (r.pad.link === 'down' || r.alarms.some((a) => a.kind === 'pad_down')) alarms.push('pad_down');
  if (r.pad.alarm !== null) alarms.push('pad_fault');
  if (r.store.health !== 'ok') alarms.push('store_error');
  if (r.upload.halted && !row.revoked) alarms.push('chain_halted');
  return alarms;
}

export function fleetReply(rows: FleetTerminalRow[], at: Date): FleetReply {
  const terminals = rows.map((row): FleetTerminal => {
    const r = row.heartbeat?.request;
    const lastSeen = [row.heartbeat?.received_at, row.last_upload_at]
      .filter((t): t is string => typeof t === 'string')
      .sort()
      .at(-1);
    return {
      device_id: row.device_id,
      hall_id: row.hall_id,
      window_id: row.window_id,
      enrolled: row.enrolled,
      last_heartbeat_at: row.heartbeat?.received_at ?? null,
      last_seen_at: lastSeen ?? null,
      hub_seq: row.hub_seq,
      queue_depth: r?.queue_depth ?? null,
      oldest_unsent_age_s: r?.oldest_unsent_age_s ?? null,
      clock_offset_ms: row.heartbeat?.clock_offset_ms ?? null,
      app_version: r?.app_version ?? null,
      config_version: r?.config_version ?? null,
      pad_link: r?.pad.link ?? null,
      store_health: r?.store.health ?? null,
      session_state: r?.session.state ?? null,
      alarms: terminalAlarms(row, at),
      pending_commands: row.pending_commands,
    };
  });
  return fleetReplySchema.parse({ server_time: at.toISOString(), terminals });
}
