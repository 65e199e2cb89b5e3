/**
 * IT enrolls a terminal from the counter's own UI (the provisioning panel, #/provision) in Debian's
 * Chromium against the devhost, with a real hub on loopback that requires signatures: a used token
 * is refused in words, a fresh one enrolls, and the ratings queued before (refused unsigned) and
 * after reach the hub signed, without a restart.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN_FILE, startHub } from '../../hub/server.ts';
import { type RunningCounter, runCounter } from '../../src-main/cli/run-counter.ts';
import { defaultCounterConfig } from '../../src-main/core/config.ts';
import { FileKeyStore } from '../../src-main/core/device-key.ts';
import { enroll } from '../../src-main/core/enrollment.ts';
import { HUB_API, type StatsReply } from '../../src-shared/index.ts';
import { launchChromium } from '../helpers/chromium.ts';

let dir: string;
let hub: { url: string; close(): Promise<void> };
let counter: RunningCounter;
let browser: Browser;

async function hubTotal(): Promise<number> {
  const res = await fetch(`${hub.url}${HUB_API}/stats`);
  return ((await res.json()) as StatsReply).totals.total;
}

async function eventually(probe: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function makeToken(): Promise<string> {
  const admin = readFileSync(join(dir, 'hub', ADMIN_TOKEN_FILE), 'utf8').trim();
  const res = await fetch(`${hub.url}${HUB_API}/admin/enrollment-tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ hall_id: 'DIV9-T12', window_id: 'W01' }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

async function rate(level: 1 | 2 | 3 | 4 | 5): Promise<void> {
  counter.counter.openRating(null);
  const sim = counter.sim;
  if (!sim) throw new Error('the counter was started with a simulated pad');
  expect((await sim.press(level)).status).toBe(0);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-enroll-ui-'));
  hub = await startHub({ dataDir: join(dir, 'hub'), port: 0, logger: false, requireSignatures: true });
  const config = defaultCounterConfig();
  counter = await runCounter({
    dataDir: join(dir, 'counter'),
    hubUrl: hub.url,
    config: { ...config, thanks_s: 1, sync: { ...config.sync, interval_ms: 100, backoff_max_ms: 500 } },
    pad: 'sim',
    uiPort: 0,
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await counter?.close();
  await hub?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function provisionPage(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  await page.goto(`${counter.uiUrl}/#/staff`);
  // IT reaches the panel from the staff screen.
  await page.getByRole('link', { name: '设备注册与诊断' }).click();
  await page.getByRole('heading', { name: '设备注册与诊断' }).waitFor({ timeout: 10_000 });
  return page;
}

describe('enrollment from the counter UI', () => {
  it('a used token is refused in words; a fresh one enrolls, and ratings reach a hub that requires signatures', {
    timeout: 90_000,
  }, async () => {
    // Before enrollment: the hub refuses the unsigned upload, the rating stays queued.
    await rate(5);
    await eventually(() => counter.counter.sync.view().hub === 'rejected');
    expect(await hubTotal()).toBe(0);

    const page = await provisionPage();
    const state = page.getByTestId('trust-state');
    await expect.poll(() => state.textContent(), { timeout: 10_000 }).toMatch(/未注册/);

    // A token another terminal has already used.
    const used = await makeToken();
    const other = join(dir, 'other');
    await enroll({
      dataDir: other,
      hubUrl: hub.url,
      token: used,
      deviceId: 'ctr-other',
      appVersion: '0.1.0',
      keyStore: new FileKeyStore(other),
    });
    const input = page.getByLabel(/注册码/);
    await input.fill(used);
    await page.getByRole('button', { name: '注册本终端' }).click();
    const message = page.getByTestId('enroll-message');
    await expect
      .poll(() => message.textContent(), { timeout: 10_000 })
      .toMatch(/注册码无效、已过期或已被使用/);
    expect(counter.counter.trustStatus().enrolled).toBe(false);

    // A fresh token, scanned: the scanner types the QR payload `haocha hub token` prints.
    const fresh = await makeToken();
    await input.fill(JSON.stringify({ hub: hub.url, token: fresh, hall: 'DIV9-T12', window: 'W01' }));
    await page.getByRole('button', { name: '注册本终端' }).click();
    await expect.poll(() => message.textContent(), { timeout: 10_000 }).toMatch(/注册成功/);
    await expect.poll(() => state.textContent(), { timeout: 10_000 }).toMatch(/已注册，上传数据已签名/);
    expect(await page.locator('.provision__facts').textContent()).toContain('DIV9-T12 / W01');
    expect(counter.counter.trustStatus()).toMatchObject({ enrolled: true, signing: true, window_id: 'W01' });

    // Signed from now on, no restart: the queued rating drains, and the next one follows.
    await eventually(async () => (await hubTotal()) === 1);
    await rate(4);
    await eventually(async () => (await hubTotal()) === 2);
    expect(counter.counter.sync.view().hub).toBe('ok');
    await page.close();
  });
});
