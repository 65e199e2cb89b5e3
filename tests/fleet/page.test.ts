import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatOffset, renderFleetPage } from '../../hub/fleet-page.ts';
import { fleetReply, terminalAlarms } from '../../hub/routes/fleet.ts';
import type { FleetTerminalRow } from '../../hub/store/types.ts';
import { type HeartbeatRequest, HUB_API } from '../../src-shared/index.ts';
import { batchOf, makeStream } from '../hub/records.ts';
import { startTestHub, type TestHub, tempDir } from './harness.ts';

const EVIL = '<img src=x onerror="alert(1)">&\'';

function heartbeat(patch: Partial<HeartbeatRequest> = {}): HeartbeatRequest {
  return {
    device_id: 'ctr-page-1',
    hall_id: 'DIV9-MAIN',
    window_id: 'W03',
    sent_at: new Date().toISOString(),
    mono_ms: 1000,
    app_boot_id: '0190a1b2-0000-7000-8000-000000000001',
    heartbeat_s: 30,
    queue_depth: 4,
    oldest_unsent_age_s: 120,
    chain_head: { seq: 7, hash: 'a'.repeat(64) },
    clock_offset_ms: 0,
    app_version: '0.1.0',
    config_version: 'embedded-1',
    pad: { link: 'up', alarm: null },
    store: { health: 'ok', message: null },
    session: { state: 'idle', staff_no: '090317' },
    upload: { hub: 'ok', halted: false, last_error: null },
    alarms: [],
    ...patch,
  };
}

describe('fleet page', () => {
  let tmp: ReturnType<typeof tempDir>;
  let hub: TestHub;
  beforeEach(async () => {
    tmp = tempDir();
    hub = await startTestHub(join(tmp.dir, 'hub'));
  });
  afterEach(async () => {
    await hub.close();
    tmp.cleanup();
  });

  async function post(body: unknown) {
    const res = await fetch(`${hub.url}${HUB_API}/heartbeat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('renders every terminal in Chinese, escapes what terminals send, and needs no script', async () => {
    expect((await post(heartbeat())).status).toBe(200);
    const evil = heartbeat({
      device_id: `ctr-${EVIL}`,
      hall_id: EVIL,
      window_id: `W<b>9</b>`,
      app_version: EVIL,
      pad: { link: 'down', alarm: 'stuck_key' },
    });
    expect((await post(evil)).status).toBe(200);
    const res = await fetch(`${hub.url}/fleet`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    const html = await res.text();
    expect(html).toContain('终端状态');
    expect(html).toContain('评价器断开');
    expect(html).toContain('评价器故障');
    expect(html).toContain('ctr-page-1');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>9');
    expect(html).toContain('&#60;img src=x onerror=&#34;alert(1)&#34;&#62;&#38;&#39;');
    expect(html).not.toContain('<script');
    // Linked both ways with the stats page.
    expect(html).toContain('href="./"');
    expect(await (await fetch(`${hub.url}/`)).text()).toContain('href="./fleet"');
  });

  it('refuses a malformed heartbeat with 400 and records nothing', async () => {
    const bad = await post({ ...heartbeat(), queue_depth: -1 });
    expect(bad).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
    const fleet = (await (await fetch(`${hub.url}${HUB_API}/fleet`)).json()) as { terminals: unknown[] };
    expect(fleet.terminals).toEqual([]);
  });

  it('a store that cannot answer gives 503 STORE_UNAVAILABLE with Retry-After, not a 500', async () => {
    await hub.breakStore();
    for (const path of ['/api/fleet', '/fleet']) {
      const res = await fetch(`${hub.url}${path}`);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(((await res.json()) as { code: string }).code).toBe('STORE_UNAVAILABLE');
    }
  });

  it('a kept heartbeat that no longer reads (an older schema) counts as none: the place comes from the ratings', async () => {
    const stream = makeStream({
      deviceId: 'ctr-page-1',
      count: 2,
      hallId: 'H-RATINGS',
      windowId: () => 'W-R',
    });
    const res = await fetch(`${hub.url}${HUB_API}/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(batchOf(stream, 1, 2)),
    });
    expect(res.status).toBe(200);
    expect((await post(heartbeat())).status).toBe(200);
    // What an older hub kept, which this hub's heartbeat schema refuses.
    expect(
      await hub.query('UPDATE fleet_heartbeats SET body = ? WHERE device_id = ? RETURNING device_id', [
        JSON.stringify({ ...heartbeat(), queue_depth: -1 }),
        'ctr-page-1',
      ]),
    ).toHaveLength(1);
    const fleet = (await (await fetch(`${hub.url}${HUB_API}/fleet`)).json()) as {
      terminals: Record<string, unknown>[];
    };
    expect(fleet.terminals).toHaveLength(1);
    expect(fleet.terminals[0]).toMatchObject({
      device_id: 'ctr-page-1',
      hall_id: 'H-RATINGS',
      window_id: 'W-R',
      enrolled: false,
      hub_seq: 2,
      alarms: ['stale'],
    });
  });

  it('an empty fleet says so', async () => {
    expect(await (await fetch(`${hub.url}/fleet`)).text()).toContain('尚无终端');
  });
});

describe('fleet alarms and figures (pure)', () => {
  const at = new Date('2026-11-26T04:00:00.000Z');
  function row(patch: Partial<HeartbeatRequest> = {}, received = at, extra: Partial<FleetTerminalRow> = {}) {
    return {
      device_id: 'ctr-x',
      hall_id: 'H',
      window_id: 'W',
      enrolled: true,
      revoked: false,
      last_upload_at: null,
      hub_seq: 0,
      heartbeat: { received_at: received.toISOString(), clock_offset_ms: 0, request: heartbeat(patch) },
      pending_commands: 0,
      ...extra,
    } satisfies FleetTerminalRow;
  }

  it('names each condition', () => {
    expect(terminalAlarms(row(), at)).toEqual([]);
    expect(terminalAlarms(row({ store: { health: 'disk_full', message: 'full' } }), at)).toEqual([
      'store_error',
    ]);
    expect(
      terminalAlarms(row({ upload: { hub: 'rejected', halted: true, last_error: 'CHAIN_MISMATCH' } }), at),
    ).toEqual(['chain_halted']);
    expect(terminalAlarms(row({}, at, { revoked: true }), at)).toEqual(['revoked']);
    expect(terminalAlarms({ ...row(), heartbeat: null }, at)).toEqual(['stale']);
  });

  it('stale exactly when more than three of the terminal’s own intervals passed (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3600 }),
        fc.integer({ min: 0, max: 20_000_000 }),
        (intervalS, ageMs) => {
          const received = new Date(at.getTime() - ageMs);
          const stale = terminalAlarms(row({ heartbeat_s: intervalS }, received), at).includes('stale');
          expect(stale).toBe(ageMs > 3 * intervalS * 1000);
        },
      ),
    );
  });

  it('last seen is the later of heartbeat and upload; offsets read as fast or slow', () => {
    const r = row({}, new Date('2026-11-26T03:00:00.000Z'), { last_upload_at: '2026-11-26T03:30:00.000Z' });
    expect(fleetReply([r], at).terminals[0]?.last_seen_at).toBe('2026-11-26T03:30:00.000Z');
    expect(formatOffset(-10 * 86_400_000)).toBe('慢 10.0 天');
    expect(formatOffset(2500)).toBe('快 3 秒');
    expect(formatOffset(300)).toBe('准确');
    expect(renderFleetPage(fleetReply([r], at))).toContain('H');
  });
});
