import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_TOKEN_FILE, buildHub, type Hub } from '../../hub/server.ts';
import { type CounterConfig, defaultCounterConfig } from '../../src-main/core/config.ts';
import { Counter } from '../../src-main/core/counter.ts';
import { FileKeyStore } from '../../src-main/core/device-key.ts';
import { enroll } from '../../src-main/core/enrollment.ts';
import { CounterStore } from '../../src-main/core/store/counter-store.ts';
import { HUB_API } from '../../src-shared/index.ts';
import { breakTestStore, queryStore, testDb } from '../hub/harness.ts';

export interface TestHub {
  hub: Hub;
  url: string;
  dir: string;
  admin: string;
  /** The hub's database: undefined (SQLite in dir) or a fresh PostgreSQL schema (project hub-postgres). */
  db: string | undefined;
  /** One query on the hub's database, whatever the engine (`?` placeholders), for derived columns. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Makes the hub's store unable to serve, as a failed disk or a lost database would. */
  breakStore(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real hub on loopback (buildHub + listen), with the hub clock injectable for stale alarms, on
 * the engine the test project selects (tests/hub/harness.ts testDb()).
 */
export async function startTestHub(
  dir: string,
  opts: { requireSignatures?: boolean; now?: () => Date; db?: string } = {},
): Promise<TestHub> {
  const db = opts.db ?? (await testDb());
  const hub = await buildHub({
    dataDir: dir,
    db,
    requireSignatures: opts.requireSignatures ?? false,
    ...(opts.now ? { now: opts.now } : {}),
  });
  await hub.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (hub.app.server.address() as AddressInfo).port;
  return {
    hub,
    url: `http://127.0.0.1:${port}`,
    dir,
    admin: readFileSync(join(dir, ADMIN_TOKEN_FILE), 'utf8').trim(),
    db,
    query: (sql, params) => queryStore(hub.store, sql, params),
    breakStore: () => breakTestStore(hub.store),
    close: () => hub.close(),
  };
}

export function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'haocha-fleet-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Enrolls the counter whose data lives in counterDir with the hub (token made with the admin token). */
export async function enrollCounter(hub: TestHub, counterDir: string): Promise<string> {
  const store = new CounterStore(join(counterDir, 'counter.db'));
  const deviceId = store.deviceId;
  store.close();
  const res = await fetch(`${hub.url}${HUB_API}/admin/enrollment-tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${hub.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ hall_id: 'DIV9-T12', window_id: 'W07' }),
  });
  if (res.status !== 201) throw new Error(`token: ${res.status} ${await res.text()}`);
  const { token } = (await res.json()) as { token: string };
  await enroll({
    dataDir: counterDir,
    hubUrl: hub.url,
    token,
    deviceId,
    appVersion: '0.1.0',
    keyStore: new FileKeyStore(counterDir),
  });
  return deviceId;
}

/** Open all day every day, no after-staff-action or burst signal: a rating's only flags are the hub's. */
export function quietConfig(patch: Partial<CounterConfig> = {}): CounterConfig {
  const config = defaultCounterConfig();
  config.opening_hours = { periods: [['00:00', '24:00']], rest_day_periods: [['00:00', '24:00']] };
  config.after_staff_action_s = 0;
  config.burst_presses = 20;
  config.sync = { ...config.sync, interval_ms: 50, backoff_min_ms: 50, backoff_max_ms: 200, heartbeat_s: 30 };
  return Object.assign(config, patch);
}

export function makeCounter(
  counterDir: string,
  hubUrl: string,
  opts: { now?: () => Date; config?: CounterConfig; onConfigHint?: (v: string | null) => void } = {},
): Counter {
  const counter = new Counter({
    dataDir: counterDir,
    hubUrl,
    config: opts.config ?? quietConfig(),
    appVersion: '9.8.7',
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.onConfigHint ? { onConfigHint: opts.onConfigHint } : {}),
  });
  // No upload until a test starts one (a rating kicks the uploader otherwise): queue depths stay
  // as the test made them, and no request is left in flight when the hub closes.
  counter.sync.stop();
  return counter;
}

/** One rating for a case accepted at `acceptedAt` (the business system's clock), given on the citizen screen. */
export function rate(
  counter: Counter,
  caseRef: string,
  acceptedAt: string | null = null,
  level: 1 | 2 | 3 | 4 | 5 = 5,
) {
  counter.openCase(
    {
      case_ref: caseRef,
      item_code: null,
      item_name: null,
      case_status: null,
      accepted_at: acceptedAt,
      finished_at: null,
      dept_id: null,
      rater_type: 'unknown',
      anonymous_allowed: false,
      rater: null,
    },
    'staff:090317',
    'api',
  );
  const out = counter.submitScreenRating({ level });
  // Back to idle at once (the thank-you screen would otherwise hold the window for a few seconds).
  counter.cancelRating();
  return out;
}

export async function until(cond: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition') {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not met in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function admin(hub: TestHub, method: string, path: string, body?: unknown) {
  const res = await fetch(`${hub.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${hub.admin}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
