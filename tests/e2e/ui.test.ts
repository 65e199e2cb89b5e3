/**
 * The real UI in Debian's Chromium against the devhost (the same core services Electron hosts),
 * with a real hub on loopback: open a rating from the staff screen, rate on the citizen screen
 * (level, 提交; a 差评 through its reason step), see the thank-you, see the hub's count go up.
 * Then the same with a press on the pad; then sign-out, sign-in on the keypad, pause and resume.
 * The default config signs the demo staff in at start (auto_sign_in), so the window starts idle.
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
    await staff.getByText('空闲').waitFor({ timeout: 10_000 }); // signed in at start
    await staff.getByRole('button', { name: '邀请评价' }).click();
    const satisfied = citizen.getByRole('button', { name: '满意', exact: true });
    await expect.poll(() => satisfied.isEnabled(), { timeout: 10_000 }).toBe(true);
    await satisfied.click();
    await citizen.getByRole('button', { name: '提交', exact: true }).click();
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

  it('a 差评 on the screen goes through its reason step, and the staff screen never learns it', {
    timeout: 60_000,
  }, async () => {
    const staff = await openPage('staff');
    const citizen = await openPage('citizen');
    const before = await hubTotal();
    await staff.getByText('空闲').waitFor({ timeout: 20_000 });
    await staff.getByRole('button', { name: '邀请评价' }).click();
    await citizen.getByRole('button', { name: '不满意', exact: true }).click();
    await citizen.getByRole('heading', { name: '请选择原因（可多选）' }).waitFor({ timeout: 20_000 });
    await citizen.getByRole('button', { name: '办理时间长', exact: true }).click();
    await citizen.getByRole('button', { name: '提交', exact: true }).click();
    await expect.poll(() => citizen.getByText('谢谢您的评价').isVisible(), { timeout: 20_000 }).toBe(true);
    await eventually(async () => (await hubTotal()) === before + 1);
    const stats = (await (await fetch(`${hub.url}${HUB_API}/stats`)).json()) as StatsReply;
    expect(stats.totals.counts['2']).toBe(1);
    const text = (await staff.locator('body').textContent()) ?? '';
    expect(text).not.toMatch(/满意|办理时间长/);
    await staff.close();
    await citizen.close();
  });

  // Two argon2 verifications and a dozen screen changes: slow on a loaded two-core machine.
  it('staff sign out, sign in on the keypad (090317 / 246810), pause and resume', {
    timeout: 90_000,
  }, async () => {
    const staff = await openPage('staff');
    const citizen = await openPage('citizen');
    await staff.getByText('空闲').waitFor({ timeout: 20_000 });
    await staff.getByRole('button', { name: '签退', exact: true }).click();
    await staff.getByRole('button', { name: '确定签退', exact: true }).click();
    await staff.getByRole('heading', { name: '工作人员签到' }).waitFor({ timeout: 20_000 });
    await citizen.getByRole('heading', { name: '窗口暂无工作人员' }).waitFor({ timeout: 20_000 });

    const keypad = staff.locator('.keypad');
    const type = async (digits: string) => {
      for (const d of digits) await keypad.getByRole('button', { name: d, exact: true }).click();
    };
    // A wrong PIN first: refused, without saying which part was wrong.
    await type('090317');
    await staff.getByRole('button', { name: '下一步', exact: true }).click();
    await type('111111');
    await staff.getByRole('button', { name: '签到', exact: true }).click();
    await staff.getByRole('alert').getByText('工号或密码不正确，请重新输入').waitFor({ timeout: 20_000 });
    await type('246810');
    await staff.getByRole('button', { name: '签到', exact: true }).click();
    await staff.getByText('空闲').waitFor({ timeout: 20_000 });
    await expect(staff.locator('.staff__who').textContent()).resolves.toMatch(/李明.*工号 090317/);
    await citizen.getByText('欢迎光临').waitFor({ timeout: 20_000 });

    await staff.getByRole('button', { name: '暂停服务', exact: true }).click();
    await staff.getByRole('button', { name: '休息', exact: true }).click();
    await staff.getByText('暂停原因：休息').waitFor({ timeout: 20_000 });
    await citizen.getByRole('heading', { name: '暂停服务' }).waitFor({ timeout: 20_000 });
    await citizen.getByText('工作人员暂时离开，请稍候').waitFor({ timeout: 20_000 });
    await staff.getByRole('button', { name: '恢复服务', exact: true }).click();
    await staff.getByText('空闲').waitFor({ timeout: 20_000 });
    await citizen.getByText('欢迎光临').waitFor({ timeout: 20_000 });
    await staff.close();
    await citizen.close();
  });
});
