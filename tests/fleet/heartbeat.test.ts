import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run as runStatus } from '../../src-main/cli/status.ts';
import type { Counter } from '../../src-main/core/counter.ts';
import { type FleetReply, HUB_API, NO_PAD, type QueuedCommand } from '../../src-shared/index.ts';
import {
  admin,
  enrollCounter,
  makeCounter,
  quietConfig,
  rate,
  startTestHub,
  type TestHub,
  tempDir,
  until,
} from './harness.ts';

let tmp: ReturnType<typeof tempDir>;
let hub: TestHub;
let counter: Counter | null = null;

beforeEach(async () => {
  tmp = tempDir();
});
afterEach(async () => {
  await counter?.close();
  counter = null;
  await hub?.close();
  tmp.cleanup();
});

async function fleet(): Promise<FleetReply> {
  const res = await fetch(`${hub.url}/api/fleet`);
  expect(res.status).toBe(200);
  return (await res.json()) as FleetReply;
}

async function hubRatings(deviceId: string) {
  return (await hub.hub.store.listRatings({})).ratings.filter((r) => r.device_id === deviceId);
}

describe('heartbeats over loopback, counter ⇄ hub', () => {
  it('an enrolled counter signs its heartbeat; the hub lists it with its state and answers with its time', async () => {
    hub = await startTestHub(join(tmp.dir, 'hub'), { requireSignatures: true });
    const dir = join(tmp.dir, 'counter');
    const deviceId = await enrollCounter(hub, dir);
    counter = makeCounter(dir, hub.url);
    rate(counter, 'C-1');
    const before = Date.now();
    const view = await counter.heartbeat.beat();
    expect(view.last_error).toBeNull();
    expect(view.last_ok_at).not.toBeNull();
    expect(Date.parse(view.server_time ?? '')).toBeGreaterThanOrEqual(before - 1000);

    const { terminals } = await fleet();
    const me = terminals.find((t) => t.device_id === deviceId);
    expect(me).toMatchObject({
      hall_id: 'DIV9-MAIN',
      window_id: 'W03',
      enrolled: true,
      queue_depth: 1,
      app_version: '9.8.7',
      config_version: 'embedded-1',
      pad_link: 'none',
      store_health: 'ok',
      session_state: 'idle',
      alarms: [],
    });
    expect(Math.abs(me?.clock_offset_ms ?? Number.NaN)).toBeLessThan(5000);
    expect(me?.oldest_unsent_age_s).not.toBeNull();
  });

  it('a started counter beats on its own timer (sync.heartbeat_s) and its status shows the last beat', async () => {
    hub = await startTestHub(join(tmp.dir, 'hub'));
    const config = quietConfig();
    config.sync = { ...config.sync, heartbeat_s: 1 };
    counter = makeCounter(join(tmp.dir, 'counter'), hub.url, { config });
    counter.start();
    await until(async () => (await fleet()).terminals.length === 1, 10_000, 'first heartbeat');
    await until(() => counter?.heartbeat.view().last_ok_at != null, 10_000, 'answer seen');
    const runtime = JSON.parse(readFileSync(join(tmp.dir, 'counter', 'runtime.json'), 'utf8')) as {
      heartbeat: { last_ok_at: string | null };
    };
    expect(runtime.heartbeat.last_ok_at).not.toBeNull();
    // `haocha status` prints it (the counter runs in this very process, so it counts as running).
    let printed = '';
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => {
      printed += chunk;
      return true;
    }) as typeof process.stdout.write;
    try {
      await runStatus(['--data', join(tmp.dir, 'counter')]);
    } finally {
      process.stdout.write = write;
    }
    expect(JSON.parse(printed).heartbeat).toMatchObject({ last_error: null, last_ok_at: expect.any(String) });
  });

  it('a hub that requires signatures refuses an unsigned heartbeat and records nothing from it', async () => {
    hub = await startTestHub(join(tmp.dir, 'hub'), { requireSignatures: true });
    counter = makeCounter(join(tmp.dir, 'counter'), hub.url);
    const view = await counter.heartbeat.beat();
    expect(view.last_ok_at).toBeNull();
    expect(view.last_error).toMatch(/^UNSIGNED/);
    expect((await fleet()).terminals).toEqual([]);
  });

  it('a counter enrolled while running signs its next heartbeat', async () => {
    hub = await startTestHub(join(tmp.dir, 'hub'), { requireSignatures: true });
    counter = makeCounter(join(tmp.dir, 'counter'), hub.url);
    expect((await counter.heartbeat.beat()).last_error).toMatch(/^UNSIGNED/);
    const made = await admin(hub, 'POST', `${HUB_API}/admin/enrollment-tokens`, {
      hall_id: 'DIV9-T12',
      window_id: 'W07',
    });
    await counter.enroll(made.body.token as string);
    const view = await counter.heartbeat.beat();
    expect(view.last_error).toBeNull();
    expect((await fleet()).terminals.find((t) => t.device_id === counter?.store.deviceId)?.enrolled).toBe(
      true,
    );
  });

  it('even with signatures not required, an unsigned heartbeat in an enrolled device’s name is refused', async () => {
    hub = await startTestHub(join(tmp.dir, 'hub'), { requireSignatures: false });
    const dir = join(tmp.dir, 'counter');
    const deviceId = await enrollCounter(hub, dir);
    counter = makeCounter(dir, hub.url);
    expect((await counter.heartbeat.beat()).last_error).toBeNull();
    const forged = {
      ...counter.heartbeat.request(),
      app_boot_id: 'forged-boot',
      sent_at: new Date(0).toISOString(),
    };
    const res = await fetch(`${hub.url}${HUB_API}/heartbeat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(forged),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe('UNSIGNED');
    const me = (await fleet()).terminals.find((t) => t.device_id === deviceId);
    expect(Math.abs(me?.clock_offset_ms ?? Number.NaN)).toBeLessThan(5000);
    expect(
      await hub.query("SELECT COUNT(*) AS n FROM clock_anchors WHERE app_boot_id = 'forged-boot'"),
    ).toEqual([{ n: 0 }]);
  });

  it('a failing hub never disturbs rating: the heartbeat reports the error and the rating is stored', async () => {
    hub = await startTestHub(join(tmp.dir, 'hub'));
    const url = hub.url;
    await hub.close();
    counter = makeCounter(join(tmp.dir, 'counter'), url);
    const view = await counter.heartbeat.beat();
    expect(view.last_error).toMatch(/heartbeat failed/);
    expect(rate(counter, 'C-9').receipt).toBeTruthy();
    expect(counter.sync.view().queue_depth).toBe(1);
    hub = await startTestHub(join(tmp.dir, 'hub2'));
  });

  it('a queued command is delivered once, in the next heartbeat, and recorded as delivered (pause pauses)', async () => {
    hub = await startTestHub(join(tmp.dir, 'hub'));
    counter = makeCounter(join(tmp.dir, 'counter'), hub.url);
    const id = counter.store.deviceId;
    // Unknown terminal: refused, not queued for ever.
    expect(
      (
        await admin(hub, 'POST', `${HUB_API}/admin/devices/${id}/commands`, {
          type: 'pause',
          reason: 'meeting',
        })
      ).status,
    ).toBe(404);
    await counter.heartbeat.beat();
    const queued = await admin(hub, 'POST', `${HUB_API}/admin/devices/${id}/commands`, {
      type: 'pause',
      reason: 'meeting',
    });
    expect(queued.status).toBe(201);
    expect(queued.body).toMatchObject({ command: { type: 'pause', reason: 'meeting' }, delivered_at: null });
    // Without the admin token: refused.
    const anon = await fetch(`${hub.url}${HUB_API}/admin/devices/${id}/commands`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'resend_config' }),
    });
    expect(anon.status).toBe(401);
    expect((await fleet()).terminals[0]?.pending_commands).toBe(1);

    expect(counter.session.state()).toBe('idle');
    await counter.heartbeat.beat();
    expect(counter.session.state()).toBe('paused');
    expect(counter.session.view().pause_reason).toBe('meeting');
    expect(counter.heartbeat.view().commands).toBe(1);
    counter.resume();
    await counter.heartbeat.beat();
    expect(counter.session.state()).toBe('idle');
    expect(counter.heartbeat.view().commands).toBe(1);

    const list = await admin(hub, 'GET', `${HUB_API}/admin/devices/${id}/commands`);
    const commands = list.body.commands as QueuedCommand[];
    expect(commands).toHaveLength(1);
    expect(commands[0]?.delivered_at).not.toBeNull();
    expect((await fleet()).terminals[0]?.pending_commands).toBe(0);
  });

  it('resend_config and a newer config version reach the config hook', async () => {
    hub = await startTestHub(join(tmp.dir, 'hub'));
    const hints: (string | null)[] = [];
    counter = makeCounter(join(tmp.dir, 'counter'), hub.url, { onConfigHint: (v) => hints.push(v) });
    await counter.heartbeat.beat();
    // The hub has no bundle (config_version null): no hint.
    expect(hints).toEqual([]);
    await admin(hub, 'POST', `${HUB_API}/admin/devices/${counter.store.deviceId}/commands`, {
      type: 'resend_config',
    });
    await counter.heartbeat.beat();
    expect(hints).toEqual([null]);
  });

  it('rewind makes the counter send its ratings again; the hub still holds each once', async () => {
    hub = await startTestHub(join(tmp.dir, 'hub'));
    counter = makeCounter(join(tmp.dir, 'counter'), hub.url);
    const id = counter.store.deviceId;
    for (let i = 0; i < 5; i++) rate(counter, `C-${i}`);
    counter.sync.start();
    await until(() => counter?.sync.view().queue_depth === 0, 10_000, 'first upload');
    expect(await hubRatings(id)).toHaveLength(5);
    counter.sync.stop();

    await admin(hub, 'POST', `${HUB_API}/admin/devices/${id}/commands`, { type: 'rewind', to_seq: 2 });
    await counter.heartbeat.beat();
    // Seqs 3..5 are unsent again.
    expect(counter.sync.view()).toMatchObject({ queue_depth: 3, last_acked_seq: 2 });
    counter.sync.start();
    await until(() => counter?.sync.view().queue_depth === 0, 10_000, 'resend');
    const held = await hubRatings(id);
    expect(held.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(held.map((r) => r.event_id)).size).toBe(5);
  });

  it('the fleet shows alarms: pad down, unstaffed, and stale after three intervals by the hub clock', async () => {
    let hubNow = Date.parse('2026-11-26T02:00:00.000Z');
    hub = await startTestHub(join(tmp.dir, 'hub'), { now: () => new Date(hubNow) });
    let counterNow = Date.now();
    counter = makeCounter(join(tmp.dir, 'counter'), hub.url, { now: () => new Date(counterNow) });
    counter.setPad({ ...NO_PAD, link: 'down', path: '/dev/ttyUSB0' });
    await counter.heartbeat.beat();
    let me = (await fleet()).terminals[0];
    expect(me?.alarms).toEqual(['pad_down']);
    expect(me?.last_heartbeat_at).toBe('2026-11-26T02:00:00.000Z');

    hubNow += 3 * 30_000; // exactly three intervals: not yet stale
    me = (await fleet()).terminals[0];
    expect(me?.alarms).toEqual(['pad_down']);
    hubNow += 1000;
    me = (await fleet()).terminals[0];
    expect(me?.alarms).toEqual(['stale', 'pad_down']);

    counter.setPad({ ...NO_PAD, link: 'up', path: '/dev/ttyUSB0' });
    counter.signOut();
    // Opening hours all day: 窗口不空岗 is raised after unstaffed_alarm_min (10) minutes without staff.
    counterNow += 11 * 60_000;
    counter.checkUnstaffed();
    await counter.heartbeat.beat();
    me = (await fleet()).terminals[0];
    expect(me?.alarms).toEqual(['unstaffed']);
    expect(me?.session_state).toBe('signed_out');
  });
});
