/**
 * The real UI in Debian's Chromium against the devhost (the same core services Electron hosts),
 * with a real hub on loopback: open a rating from the staff screen, rate on the citizen screen,
 * see the thank-you, see the hub's count go up. Then the same with a press on the pad.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub } from '../../hub/server.ts';
import { type RunningCounter, runCounter } from '../../src-main/cli/run-counter.ts';
import { defaultCounterConfig } from '../../src-main/core/config.ts';
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

async function eventually(probe: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function openPage(route: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  await page.goto(`${counter.uiUrl}/#/${route}`);
  return page;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-ui-'));
  hub = await startHub({ dataDir: join(dir, 'hub'), port: 0, logger: false });
  const config = defaultCounterConfig();
  counter = await runCounter({
    dataDir: join(dir, 'counter'),
    hubUrl: hub.url,
    config: { ...config, thanks_s: 3, sync: { ...config.sync, interval_ms: 100 } },
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

describe('counter UI over the devhost', () => {
  it('staff open a rating, the citizen touches 满意, sees the thank-you, and the hub counts it', async () => {
    const staff = await openPage('staff');
    const citizen = await openPage('citizen');
    expect(await hubTotal()).toBe(0);
    await staff.getByRole('button', { name: '邀请评价' }).click();
    const satisfied = citizen.getByRole('button', { name: '满意', exact: true });
    await expect.poll(() => satisfied.isEnabled(), { timeout: 10_000 }).toBe(true);
    await satisfied.click();
    await expect.poll(() => citizen.getByText('谢谢您的评价').isVisible(), { timeout: 10_000 }).toBe(true);
    await eventually(async () => (await hubTotal()) === 1);
    const stats = (await (await fetch(`${hub.url}${HUB_API}/stats`)).json()) as StatsReply;
    expect(stats.totals.counts['4']).toBe(1);
    // The staff screen never shows what was chosen.
    expect(await staff.locator('body').textContent()).not.toMatch(/满意/);
    await staff.close();
    await citizen.close();
  });

  it('a press on the pad shows the same thank-you on the citizen screen', async () => {
    const citizen = await openPage('citizen');
    const before = await hubTotal();
    counter.counter.openRating('XJ-2026-0100');
    const sim = counter.sim;
    if (!sim) throw new Error('the counter was started with a simulated pad');
    const r = await sim.press(5);
    expect(r.status).toBe(0);
    await expect.poll(() => citizen.getByText('谢谢您的评价').isVisible(), { timeout: 10_000 }).toBe(true);
    await eventually(async () => (await hubTotal()) === before + 1);
    await citizen.close();
  });
});
