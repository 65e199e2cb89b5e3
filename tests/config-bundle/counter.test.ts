import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHub } from '../../hub/server.ts';
import { type CounterConfig, defaultCounterConfig } from '../../src-main/core/config.ts';
import { BUNDLE_FILE } from '../../src-main/core/config-sync.ts';
import { Counter } from '../../src-main/core/counter.ts';
import { FileKeyStore } from '../../src-main/core/device-key.ts';
import { enroll } from '../../src-main/core/enrollment.ts';
import { CounterStore } from '../../src-main/core/store/counter-store.ts';
import { CONFIG_PATH } from '../../src-shared/config-bundle.ts';
import { openTestStore, testDb } from '../hub/harness.ts';
import { adminTokenOf, content, HALL, makeEnrollmentToken, publish, WINDOW } from './fixture.ts';

const BIN = fileURLToPath(new URL('../../bin/haocha.mjs', import.meta.url));

let dir: string;
let hub: { url: string; close(): Promise<void> };
let admin: string;
/** The hub's database: SQLite in the hub dir, or a fresh PostgreSQL schema in the hub-postgres project. */
let db: string | undefined;
const counters: Counter[] = [];
const ctrDir = () => join(dir, 'counter');

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-cfg-ctr-'));
  db = await testDb();
  hub = await startHub({ dataDir: join(dir, 'hub'), db, port: 0, logger: false, requireSignatures: true });
  admin = adminTokenOf(join(dir, 'hub'));
  // Enrolled as the store's own device id, as `haocha enroll` does.
  const store = new CounterStore(join(ctrDir(), 'counter.db'));
  const deviceId = store.deviceId;
  store.close();
  await enroll({
    dataDir: ctrDir(),
    hubUrl: hub.url,
    token: await makeEnrollmentToken(hub.url, admin),
    deviceId,
    appVersion: '0.1.0',
    keyStore: new FileKeyStore(ctrDir()),
  });
});
afterEach(async () => {
  for (const c of counters.splice(0)) {
    // Let an upload the last rating started finish first: closing mid-upload leaves the hub waiting on it.
    if (c.opts.hubUrl === hub.url) await until(() => c.sync.view().queue_depth === 0, 5000).catch(() => {});
    await c.close();
  }
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

function localConfig(): CounterConfig {
  const c = defaultCounterConfig();
  // Pulls only when the test says; uploads rarely (the hub's copy is checked by draining once).
  return { ...c, config_sync: { ...c.config_sync, interval_s: 0 } };
}

function counter(fetchImpl?: typeof fetch): Counter {
  const c = new Counter({
    dataDir: ctrDir(),
    hubUrl: hub.url,
    config: localConfig(),
    ...(fetchImpl ? { fetchImpl } : {}),
  });
  counters.push(c);
  return c;
}

function versionsRated(c: Counter): string[] {
  return (
    c.store.db.prepare('SELECT config_version FROM ratings ORDER BY seq').all() as {
      config_version: string;
    }[]
  ).map((r) => r.config_version);
}

/** One pad press on an open window: the standard pad's key 1 is 非常满意 unless a profile reverses it. */
function rate(c: Counter, pressId: number): void {
  expect(c.handlePadPress({ bootId: 7, pressId, key: 1, uptimeMs: pressId })).toBe(0);
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('counter applies config bundles from the hub', () => {
  it('publish v1: the counter applies it and its ratings carry v1, at the counter and at the hub', async () => {
    const v1 = await publish(hub.url, admin, content('1号窗口（社保）'));
    const c = counter();
    expect(c.configVersion()).toBe('embedded-1');
    expect(await c.configSync.pull()).toEqual({ kind: 'applied', version: v1.body.version });
    expect(c.configVersion()).toBe(v1.body.version);
    expect(c.opts.config).toMatchObject({
      hall_id: HALL,
      window_id: WINDOW,
      window_name: '1号窗口（社保）',
      dept_id: 'D-RSJ',
      rating_timeout_s: 120,
      key_levels: [1, 2, 3, 4, 5],
    });
    expect(c.reasons().version).toBe('div9-2026.2');
    expect(c.itemMode('SB-01')).toBe('per_visit');
    expect(existsSync(join(ctrDir(), BUNDLE_FILE))).toBe(true);

    c.openRating(null);
    rate(c, 1);
    expect(versionsRated(c)).toEqual([v1.body.version]);
    // The reversed pad profile from the bundle: key 1 is now level 1.
    expect(c.store.db.prepare('SELECT level FROM ratings').get()).toEqual({ level: 1 });
    c.sync.kick();
    await until(() => c.sync.view().queue_depth === 0);
    // The hub's copy says the same (a second connection to its database).
    const hubStore = await openTestStore(join(dir, 'hub'), db);
    try {
      const page = await hubStore.listRatings({});
      expect(page.ratings.map((r) => ('config_version' in r ? r.config_version : null))).toEqual([
        v1.body.version,
      ]);
    } finally {
      await hubStore.close();
    }
  });

  it('v2 published while a rating window is open goes in only after that window closes', async () => {
    const v1 = await publish(hub.url, admin, content('A'));
    const c = counter();
    await c.configSync.pull();
    c.openRating(null);
    const v2 = await publish(hub.url, admin, content('B'));
    expect(await c.configSync.pull()).toEqual({ kind: 'applied', version: v2.body.version });
    // Received and saved, but not in force while the citizen rates.
    expect(c.configVersion()).toBe(v1.body.version);
    expect(c.opts.config.window_name).toBe('A');
    expect(c.configSync.view().pending).toBe(v2.body.version);
    rate(c, 1);
    await until(() => c.configVersion() === v2.body.version);
    expect(c.opts.config.window_name).toBe('B');
    expect(c.configSync.view().pending).toBeNull();
    c.openRating(null);
    rate(c, 2);
    expect(versionsRated(c)).toEqual([v1.body.version, v2.body.version]);
  });

  it('a window closed by sign-out is recorded under the version it was opened with', async () => {
    const v1 = await publish(hub.url, admin, content('A'));
    const c = counter();
    await c.configSync.pull();
    c.openRating(null);
    const v2 = await publish(hub.url, admin, content('B'));
    await c.configSync.pull();
    c.signOut();
    await until(() => c.configVersion() === v2.body.version);
    expect(c.store.db.prepare('SELECT outcome, config_version FROM ratings').all() as unknown[]).toEqual([
      { outcome: 'not_rated', config_version: v1.body.version },
    ]);
  });

  it('a heartbeat whose reply names a newer version makes the counter pull it', async () => {
    const c = counter();
    const v1 = await publish(hub.url, admin, content('A'));
    await c.heartbeat.beat();
    await until(() => c.configVersion() === v1.body.version);
    const v2 = await publish(hub.url, admin, content('B'));
    await c.heartbeat.beat();
    await until(() => c.configVersion() === v2.body.version);
    expect(c.opts.config.window_name).toBe('B');
  });

  it('a bundle without this window is asked for once per version, not on every heartbeat', async () => {
    let pulls = 0;
    const c = counter(async (input, init) => {
      if (String(input).includes(CONFIG_PATH)) pulls++;
      return fetch(input, init);
    });
    const others = content('A');
    others.windows = others.windows.filter((w) => w.window_id !== WINDOW);
    await publish(hub.url, admin, others);
    await c.heartbeat.beat();
    await until(() => pulls === 1 && c.configSync.view().last_error !== null);
    expect(c.configSync.view().last_error?.reason).toContain('NO_CONFIG_FOR_WINDOW');
    // The same version hinted again: the hub already said it has nothing for this window.
    await c.heartbeat.beat();
    await c.heartbeat.beat();
    await new Promise((r) => setTimeout(r, 100));
    expect(pulls).toBe(1);
    // A new version that has it is pulled and applied.
    const v2 = await publish(hub.url, admin, content('B'));
    await c.heartbeat.beat();
    await until(() => c.configVersion() === v2.body.version);
    expect(pulls).toBe(2);
  });

  it('enrolled while running (provisioning panel): the bundle is verified with the new hub key and applied', async () => {
    const v1 = await publish(hub.url, admin, content('A'));
    const cfg = { ...localConfig(), hall_id: HALL, window_id: WINDOW };
    const c = new Counter({ dataDir: join(dir, 'fresh'), hubUrl: hub.url, config: cfg });
    counters.push(c);
    const before = await c.configSync.pull();
    expect(before.kind).toBe('failed'); // unsigned: this hub requires signatures
    await c.enroll(await makeEnrollmentToken(hub.url, admin));
    await until(() => c.configVersion() === v1.body.version);
    expect(c.configSync.view().last_error).toBeNull();
  });

  it('a pull in flight when the counter closes is abandoned quietly, and no pull starts after', async () => {
    await publish(hub.url, admin, content('A'));
    const c = counter();
    const inFlight = c.configSync.pull();
    c.configSync.stop();
    const r = await inFlight;
    // Either it was answered before the abort landed, or it was abandoned without an error in status.
    if (r.kind !== 'applied') expect(r).toEqual({ kind: 'failed', reason: 'stopped' });
    expect(c.configSync.view().last_error).toBeNull();
    expect(await c.configSync.pull()).toEqual({ kind: 'failed', reason: 'stopped' });
  });

  it('ETag: a second pull with nothing new is a 304 and changes nothing', async () => {
    await publish(hub.url, admin, content('A'));
    const seen: number[] = [];
    const c = counter(async (input, init) => {
      const res = await fetch(input, init);
      if (String(input).includes(CONFIG_PATH)) seen.push(res.status);
      return res;
    });
    await c.configSync.pull();
    expect(await c.configSync.pull()).toEqual({ kind: 'not_modified' });
    expect(seen.filter((s) => s === 200 || s === 304)).toEqual([200, 304]);
  });

  it('a tampered bundle is refused, the old config stays, and the reason shows in status', async () => {
    const v1 = await publish(hub.url, admin, content('A'));
    let tamper = false;
    const c = counter(async (input, init) => {
      const res = await fetch(input, init);
      if (!tamper || !String(input).includes(CONFIG_PATH) || res.status !== 200) return res;
      // On the wire between hub and counter: someone renames the window (and so the bundle changes).
      const text = (await res.text()).replace('"window_name":"B"', '"window_name":"X"');
      return new Response(text, { status: 200, headers: res.headers });
    });
    await c.configSync.pull();
    tamper = true;
    await publish(hub.url, admin, content('B'));
    const r = await c.configSync.pull();
    expect(r.kind).toBe('refused');
    expect(r.kind === 'refused' && r.reason).toMatch(/signature does not verify/);
    expect(c.configVersion()).toBe(v1.body.version);
    expect(c.opts.config.window_name).toBe('A');
    // The saved bundle is still v1.
    expect(JSON.parse(readFileSync(join(ctrDir(), BUNDLE_FILE), 'utf8')).version).toBe(v1.body.version);
    c.openRating(null);
    rate(c, 1);
    expect(versionsRated(c)).toEqual([v1.body.version]);

    expect(c.alarms()).toContainEqual(
      expect.objectContaining({
        kind: 'config',
        message: expect.stringMatching(/signature does not verify/),
      }),
    );
    const status = await haochaStatus(ctrDir());
    expect(status.config).toMatchObject({
      version: v1.body.version,
      source: 'bundle',
      last_error: {
        reason: expect.stringMatching(/config bundle refused: bundle signature does not verify/),
      },
    });
    expect(status.alarms).toContainEqual(expect.objectContaining({ kind: 'config' }));
    // The hub serves an untampered bundle again: accepted, and the alarm clears.
    tamper = false;
    expect((await c.configSync.pull()).kind).toBe('applied');
    expect(c.alarms().filter((a) => a.kind === 'config')).toEqual([]);
  });

  it('restart: the saved bundle is in force from the start; a stray temp file from a cut write is ignored', async () => {
    const v1 = await publish(hub.url, admin, content('A'));
    const first = counter();
    await first.configSync.pull();
    await first.close();
    counters.splice(0);
    // Killed between writing the temp file and the rename: half a newer bundle lies beside the old one.
    const stray = join(ctrDir(), `${BUNDLE_FILE}.tmp`);
    writeFileSync(stray, '{"seq":2,"version":"2026.11.26-2","content":{"halls":[');
    await hub.close();
    hub = await startHub({ dataDir: join(dir, 'hub'), db, port: 0, logger: false, requireSignatures: true });
    const again = new Counter({ dataDir: ctrDir(), hubUrl: 'http://127.0.0.1:9', config: localConfig() });
    counters.push(again);
    expect(again.configVersion()).toBe(v1.body.version);
    expect(again.opts.config.window_name).toBe('A');
    expect(again.configSync.view()).toMatchObject({ source: 'bundle', seq: 1, last_error: null });
    expect(existsSync(stray)).toBe(false);
    again.openRating(null);
    rate(again, 1);
    expect(versionsRated(again)).toEqual([v1.body.version]);
  });

  it('restart with the saved bundle edited by hand: refused, the local config runs, status says why', async () => {
    await publish(hub.url, admin, content('A'));
    const first = counter();
    await first.configSync.pull();
    await first.close();
    counters.splice(0);
    const file = join(ctrDir(), BUNDLE_FILE);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"window_name":"A"', '"window_name":"Z"'));
    const again = new Counter({ dataDir: ctrDir(), hubUrl: 'http://127.0.0.1:9', config: localConfig() });
    counters.push(again);
    expect(again.configVersion()).toBe('embedded-1');
    expect(again.configSync.view().last_error?.reason).toMatch(
      /saved bundle .* refused: bundle signature does not verify/,
    );
  });

  it('an older bundle is refused (no rollback), and an unenrolled counter refuses bundles by default', async () => {
    await publish(hub.url, admin, content('A'));
    await publish(hub.url, admin, content('B'));
    const c = counter();
    await c.configSync.pull();
    expect(c.configSync.view().seq).toBe(2);

    // Unenrolled: a fresh data dir, a hub that accepts unsigned requests.
    const open = await startHub({ dataDir: join(dir, 'hub2'), db: await testDb(), port: 0, logger: false });
    try {
      await publish(open.url, adminTokenOf(join(dir, 'hub2')), content('A'));
      const cfg = { ...localConfig(), hall_id: HALL, window_id: WINDOW };
      const plain = new Counter({ dataDir: join(dir, 'plain'), hubUrl: open.url, config: cfg });
      counters.push(plain);
      const r = await plain.configSync.pull();
      expect(r.kind === 'refused' && r.reason).toMatch(/not enrolled/);
      expect(plain.configVersion()).toBe('embedded-1');
      const demoCfg = { ...cfg, config_sync: { allow_unverified: true, interval_s: 0 } };
      const demo = new Counter({ dataDir: join(dir, 'demo'), hubUrl: open.url, config: demoCfg });
      counters.push(demo);
      expect((await demo.configSync.pull()).kind).toBe('applied');
      expect(demo.opts.config.window_name).toBe('A');
    } finally {
      await open.close();
    }
  });
});

function haochaStatus(dataDir: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'status', '--data', dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('close', () => {
      try {
        resolve(JSON.parse(out) as Record<string, unknown>);
      } catch (e) {
        reject(e);
      }
    });
  });
}
