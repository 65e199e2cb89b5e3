import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SessionView } from '../../src-shared/calls.ts';
import { LEVEL_LABELS_ZH, LEVELS } from '../../src-shared/levels.ts';
import { launchChromium } from '../helpers/chromium.ts';
import {
  DEMO_PIN,
  DEMO_STAFF_NO,
  type FakeBridge,
  healthyStatus,
  idleSession,
  openSession,
  pausedSession,
  REASONS,
  RECEIPT,
  signedOutSession,
  startFakeBridge,
} from './fake-bridge.ts';

/**
 * The real renderer, built by Vite, in Debian's Chromium against a fake /bridge: what a citizen and
 * a clerk see at 1920×1080 (ui-guidelines §1, §2, §4, §5).
 */
const repo = fileURLToPath(new URL('../../', import.meta.url));
const dist = join(repo, 'dist-renderer');
const LABELS = LEVELS.map((l) => LEVEL_LABELS_ZH[l]); // 非常满意 … 非常不满意, pad keys 1–5

let browser: Browser;
let bridge: FakeBridge;
let served = '';
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  // dist-renderer/ is built once by tests/global-setup.ts.
  if (!existsSync(join(dist, 'index.html')))
    throw new Error('dist-renderer/ missing: run npm run build:renderer');
  // A private copy: other suites in this tree rebuild dist-renderer/ (emptying it) while these run.
  served = mkdtempSync(join(tmpdir(), 'haocha-renderer-'));
  cpSync(dist, served, { recursive: true });
  bridge = await startFakeBridge(served);
  // launch() gives Chromium a fresh temporary profile of its own (it refuses --user-data-dir).
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await bridge?.close();
  if (served) rmSync(served, { recursive: true, force: true });
});

afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close();
  bridge.submit = { kind: 'ok' };
  bridge.anonymousAllowed = false;
  bridge.maxAttempts = 5;
  bridge.status = healthyStatus();
  bridge.calls.length = 0;
});

/** The citizen's taps for a level: level, then for a 差评 the first reason of its level, then 提交. */
async function rateOnScreen(page: Page, label: string): Promise<void> {
  await page.getByRole('button', { name: label, exact: true }).click();
  const level = LEVELS[LABELS.indexOf(label)];
  const reason = REASONS.reasons.find((r) => r.level === level);
  if (reason) await page.getByRole('button', { name: reason.text['zh-Hans'], exact: true }).click();
  await page.getByRole('button', { name: '提交', exact: true }).click();
}

async function openPage(hash: string, session: SessionView, opts: { clock?: boolean } = {}): Promise<Page> {
  bridge.status.session = session;
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, deviceScaleFactor: 1 });
  contexts.push(context);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  if (opts.clock) await page.clock.install();
  await page.goto(`${bridge.url}${hash}`);
  await page.locator('.screen').waitFor();
  (page as Page & { errors: string[] }).errors = errors;
  return page;
}

const ratingButtons = (page: Page) => page.locator('.rating__row button');
const noOverflow = (page: Page) =>
  page.evaluate(() => {
    const el = document.scrollingElement ?? document.documentElement;
    return el.scrollWidth <= el.clientWidth && el.scrollHeight <= el.clientHeight;
  });

describe('citizen screen', { timeout: 60_000 }, () => {
  it('shows five equal buttons in pad order, big enough, labelled, and fits 1920×1080', async () => {
    const page = await openPage('#/citizen', openSession('XJ-2025-0042'));
    await page.getByRole('button', { name: '非常满意', exact: true }).waitFor();
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
      '请您对我的服务做出评价',
    );

    const buttons = ratingButtons(page);
    expect(await buttons.count()).toBe(5);
    const boxes = [];
    for (const [i, label] of LABELS.entries()) {
      const byName = page.getByRole('button', { name: label, exact: true });
      expect(await byName.count(), label).toBe(1);
      const box = await byName.boundingBox();
      if (!box) throw new Error(`no box for ${label}`);
      expect(box.width, label).toBeGreaterThanOrEqual(280);
      expect(box.height, label).toBeGreaterThanOrEqual(280);
      expect(await byName.isEnabled()).toBe(true);
      expect(await buttons.nth(i).getAttribute('aria-disabled')).toBeNull();
      boxes.push(box);
      const fontPx = await byName
        .locator('.rating-button__label')
        .evaluate((el) => Number.parseFloat(getComputedStyle(el).fontSize));
      expect(fontPx, `${label} font size`).toBeGreaterThanOrEqual(42);
    }
    for (const [i, cur] of boxes.entries()) {
      const prev = boxes[i - 1];
      if (!prev) continue;
      expect(cur.x, 'left → right in pad order').toBeGreaterThan(prev.x);
      expect(cur.x - (prev.x + prev.width), 'gap').toBeGreaterThanOrEqual(24);
      expect(cur.width).toBeCloseTo(prev.width, 0);
      expect(cur.height).toBeCloseTo(prev.height, 0);
    }
    // Colours of ui-guidelines §2.
    const look = await buttons.first().evaluate((el) => {
      const s = getComputedStyle(el);
      const label = getComputedStyle(el.querySelector('.rating-button__label') as Element);
      return { bg: s.backgroundColor, border: s.borderTopColor, label: label.color };
    });
    expect(look).toEqual({ bg: 'rgb(255, 255, 255)', border: 'rgb(92, 97, 102)', label: 'rgb(26, 26, 26)' });
    const faces = await page
      .locator('.rating__row svg circle:first-child')
      .evaluateAll((els) => els.map((e) => e.getAttribute('fill')));
    expect(faces).toEqual(['#0A3D7A', '#2A70B8', '#5C6166', '#BD4B0B', '#7A1F1F']);
    // Smallest text anywhere ≥ 28 px, body ≥ 32 px.
    const smallest = await page.evaluate(() => {
      let min = Number.POSITIVE_INFINITY;
      for (const el of document.querySelectorAll('body *')) {
        const hasText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent?.trim());
        if (hasText) min = Math.min(min, Number.parseFloat(getComputedStyle(el).fontSize));
      }
      return min;
    });
    expect(smallest).toBeGreaterThanOrEqual(32);
    expect(await noOverflow(page)).toBe(true);
    await page.screenshot({ path: '/tmp/citizen.png' });
    expect((page as Page & { errors: string[] }).errors).toEqual([]);
  });

  it('thanks with the receipt after a touch, and the thank-you DOM is the same for every level', async () => {
    const page = await openPage('#/citizen', idleSession());
    await page.getByText('欢迎光临').waitFor();
    const doms: string[] = [];
    for (const label of LABELS) {
      bridge.setSession(openSession());
      await rateOnScreen(page, label);
      await page.getByText('谢谢您的评价').waitFor();
      await expect(page.locator('.thanks__receipt bdi').textContent()).resolves.toBe(RECEIPT);
      expect(await ratingButtons(page).count()).toBe(0);
      doms.push(await page.evaluate(() => document.body.innerHTML));
      bridge.setSession(idleSession());
      await page.getByText('欢迎光临').waitFor();
    }
    expect(new Set(doms).size).toBe(1);
    for (const label of LABELS) expect(doms[0]).not.toContain(label);
    const submitted = bridge.calls.filter((c) => c.call === 'rating.submit').map((c) => c.args);
    expect(submitted.slice(-5)).toEqual([
      { level: 5 },
      { level: 4 },
      { level: 3 },
      { level: 2, reasons: ['201'] },
      { level: 1, reasons: ['101'] },
    ]);
  });

  it('idle is a calm welcome with no rating buttons; a pad press shows the same thank-you', async () => {
    const page = await openPage('#/citizen', idleSession());
    await page.getByText('欢迎光临').waitFor();
    expect(await page.getByRole('button', { name: '非常满意' }).count()).toBe(0);
    await expect(page.getByRole('img', { name: '李娟' }).count()).resolves.toBe(1);
    await expect(page.locator('.staff-card').textContent()).resolves.toMatch(
      /工号\s*0931027[\s\S]*窗口\s*12/,
    );

    bridge.setSession(openSession());
    await page.getByRole('button', { name: '满意', exact: true }).waitFor();
    bridge.setSession({ state: 'thanks', receipt: RECEIPT }); // the pad was pressed
    await page.getByText('谢谢您的评价').waitFor();
    await expect(page.locator('.thanks__receipt bdi').textContent()).resolves.toBe(RECEIPT);
    bridge.setSession(idleSession());
    await page.getByText('欢迎光临').waitFor();
  });

  it('says 正在提交… after 1 s, and thanks only once the commit is ok', async () => {
    const page = await openPage('#/citizen', openSession());
    bridge.submit = { kind: 'ok', delayMs: 2500 };
    const button = page.getByRole('button', { name: '基本满意', exact: true });
    await button.click();
    // Selected: ring + ✓ + 已选择, and nothing sent before 提交.
    await expect(button.getAttribute('class')).resolves.toContain('is-selected');
    await expect(button.getAttribute('aria-pressed')).resolves.toBe('true');
    await expect(button.locator('.rating-button__chosen').textContent()).resolves.toBe('✓ 已选择');
    expect(bridge.calls.filter((c) => c.call === 'rating.submit')).toHaveLength(0);
    await page.getByRole('button', { name: '提交', exact: true }).click();
    await expect(
      page.getByRole('button', { name: '提交', exact: true }).getAttribute('aria-disabled'),
    ).resolves.toBe('true');
    await page.getByText('正在提交…').waitFor({ timeout: 2000 });
    expect(await page.getByText('谢谢您的评价').count()).toBe(0);
    await page.getByText('谢谢您的评价').waitFor({ timeout: 5000 });
  });

  it('a failed commit says so and never thanks; the citizen can press again', async () => {
    const page = await openPage('#/citizen', openSession());
    bridge.submit = { kind: 'fail' };
    await rateOnScreen(page, '不满意');
    await page.getByRole('alert').getByText('评价未能保存，请再按一次或扫码评价').waitFor();
    expect(await page.getByText('谢谢您的评价').count()).toBe(0);
    bridge.submit = { kind: 'ok' };
    await page.getByRole('button', { name: '提交', exact: true }).click();
    await page.getByText('谢谢您的评价').waitFor();
  });

  it('10 s without an answer is a failure', async () => {
    const page = await openPage('#/citizen', openSession(), { clock: true });
    bridge.submit = { kind: 'hang' };
    await rateOnScreen(page, '非常不满意');
    await page.clock.fastForward(1500);
    await page.getByText('正在提交…').waitFor();
    await page.clock.fastForward(9000);
    await page.getByText('评价未能保存，请再按一次或扫码评价').waitFor();
    expect(await page.getByText('谢谢您的评价').count()).toBe(0);
  });

  it('works by keyboard alone, with a visible focus ring', async () => {
    const page = await openPage('#/citizen', openSession());
    await page.getByRole('button', { name: '非常满意', exact: true }).waitFor();
    await page.keyboard.press('Tab');
    const focus = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      const s = getComputedStyle(el);
      return {
        text: el.textContent.trim(),
        style: s.outlineStyle,
        width: s.outlineWidth,
        color: s.outlineColor,
      };
    });
    expect(focus).toEqual({ text: '非常满意', style: 'solid', width: '6px', color: 'rgb(10, 61, 122)' });
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: '提交', exact: true }).waitFor();
    for (let i = 0; i < 6; i++) {
      const text = await page.evaluate(() => document.activeElement?.textContent?.trim());
      if (text === '提交') break;
      await page.keyboard.press('Tab');
    }
    await page.keyboard.press('Enter');
    await page.getByText('谢谢您的评价').waitFor();
    expect(bridge.calls.at(-1)).toEqual({ call: 'rating.submit', args: { level: 4 } });
  });

  it('names a disconnected pad in words, and only then', async () => {
    const page = await openPage('#/citizen', openSession());
    expect(await page.getByText('评价器未连接').count()).toBe(0);
    bridge.status.pad.link = 'down';
    bridge.emit('pad', bridge.status.pad);
    await page.getByText('评价器未连接').waitFor();
  });

  it('ug: <html lang="ug" dir="rtl">, and the rating row keeps the pad order', async () => {
    const page = await openPage('#/citizen?lang=ug', openSession());
    await ratingButtons(page).first().waitFor();
    await expect(
      page.evaluate(() => [document.documentElement.lang, document.documentElement.dir]),
    ).resolves.toEqual(['ug', 'rtl']);
    const xs = await ratingButtons(page).evaluateAll((els) => els.map((e) => e.getBoundingClientRect().x));
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
    const first = await ratingButtons(page).first().textContent();
    expect(first).toContain('非常满意');
    expect(await noOverflow(page)).toBe(true);
    // Switching language needs no reload; zh-CN is ltr again.
    await page.getByRole('button', { name: '中文' }).click();
    await expect(page.evaluate(() => document.documentElement.dir)).resolves.toBe('ltr');
  });

  it('kk-Arab-CN is rtl too', async () => {
    const page = await openPage('#/citizen?lang=kk-Arab-CN', idleSession());
    await expect(
      page.evaluate(() => [document.documentElement.lang, document.documentElement.dir]),
    ).resolves.toEqual(['kk-Arab-CN', 'rtl']);
  });
});

describe('staff screen', { timeout: 60_000 }, () => {
  it('opens and cancels a rating by keyboard alone and shows the state in words, never a level', async () => {
    const page = await openPage('#/staff', idleSession());
    await page.getByText('空闲').waitFor();
    await expect(page.locator('.staff__who').textContent()).resolves.toMatch(/李娟.*工号 0931027.*窗口 12/);
    await expect(page.locator('.status-strip').textContent()).resolves.toMatch(
      /评价器：已连接[\s\S]*待上传 3 条[\s\S]*评价中心：连接正常/,
    );

    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('case-ref');
    await page.keyboard.type('XJ-2025-0042');
    await page.keyboard.press('Enter');
    await page.getByText('等待评价').waitFor();
    expect(bridge.calls.at(-1)).toEqual({ call: 'rating.open', args: { case_ref: 'XJ-2025-0042' } });
    await expect(page.locator('.staff-state__case').textContent()).resolves.toContain('XJ-2025-0042');
    await expect(page.evaluate(() => (document.activeElement as HTMLElement).textContent)).resolves.toBe(
      '取消评价',
    );
    await page.screenshot({ path: '/tmp/staff.png' });

    await page.keyboard.press('Enter');
    await page.getByText('空闲').waitFor();
    expect(bridge.calls.at(-1)).toEqual({ call: 'rating.cancel', args: {} });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('case-ref');

    // Without a case number: 一次一评. Then the citizen rates: the clerk learns only that it is done.
    await page.getByRole('button', { name: '邀请评价' }).click();
    await page.getByText('等待评价').waitFor();
    expect(bridge.calls.at(-1)).toEqual({ call: 'rating.open', args: { case_ref: null } });
    bridge.setSession({ state: 'thanks', receipt: RECEIPT });
    await page.getByText('评价已完成').waitFor();
    const text = await page.evaluate(() => document.body.textContent);
    for (const label of LABELS) expect(text).not.toContain(label);
    expect(text).not.toContain(RECEIPT);
    expect(await noOverflow(page)).toBe(true);
  });

  it('shows trouble in the status strip in words, alarms included', async () => {
    bridge.status.alarms = [
      { kind: 'pad_stuck_key', since: '2026-01-01T08:00:00.000Z', message: 'key 3 stuck' },
      { kind: 'unstaffed', since: '2026-01-01T08:00:00.000Z', message: '3号窗口无人签到' },
    ];
    const page = await openPage('#/staff', idleSession());
    await page.getByText('评价器按键卡住').waitFor();
    await page.getByText('窗口无人签到（窗口不空岗）').waitFor();
    bridge.status.sync.hub = 'unreachable';
    bridge.emit('sync', bridge.status.sync);
    await page.getByText('评价中心：无法连接').waitFor();
    bridge.status.sync.hub = 'ok';
    bridge.emit('sync', bridge.status.sync);
  });
});

const submits = () => bridge.calls.filter((c) => c.call === 'rating.submit').map((c) => c.args);
const textSizes = (page: Page) =>
  page.evaluate(() => {
    let min = Number.POSITIVE_INFINITY;
    for (const el of document.querySelectorAll('body *')) {
      const hasText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent?.trim());
      if (hasText && (el as HTMLElement).offsetParent !== null)
        min = Math.min(min, Number.parseFloat(getComputedStyle(el).fontSize));
    }
    return min;
  });
/** Every visible button is a touch target of ≥ 72×72 px (ui-guidelines §1, panel A). */
const smallTargets = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll('button')]
      .map((b) => ({ text: b.textContent?.trim(), box: b.getBoundingClientRect() }))
      .filter(({ box }) => box.width > 0 && (box.width < 72 || box.height < 72))
      .map(({ text }) => text),
  );

describe('citizen screen: no staff, paused, store trouble', { timeout: 60_000 }, () => {
  it('signed out: a neutral 窗口暂无工作人员, no staff card, no rating buttons', async () => {
    const page = await openPage('#/citizen', signedOutSession());
    await page.getByRole('heading', { name: '窗口暂无工作人员' }).waitFor();
    expect(await ratingButtons(page).count()).toBe(0);
    expect(await page.locator('.staff-card').count()).toBe(0);
    expect(await noOverflow(page)).toBe(true);
  });

  it('paused: a large 暂停服务 with the reason in citizen words, following the session', async () => {
    const page = await openPage('#/citizen', idleSession());
    await page.getByText('欢迎光临').waitFor();
    bridge.setSession(pausedSession('meeting'));
    await page.getByRole('heading', { name: '暂停服务' }).waitFor();
    await page.getByText('工作人员正在开会，请稍候').waitFor();
    const size = await page
      .getByRole('heading', { name: '暂停服务' })
      .evaluate((el) => Number.parseFloat(getComputedStyle(el).fontSize));
    expect(size).toBeGreaterThanOrEqual(42);
    expect(await textSizes(page)).toBeGreaterThanOrEqual(32);
    bridge.setSession(idleSession());
    await page.getByText('欢迎光临').waitFor();
  });

  it('an unhealthy store: 暂时无法评价，请稍后 instead of the buttons, and nothing can be sent', async () => {
    bridge.status.store = { ...bridge.status.store, health: 'disk_full', message: 'ENOSPC' };
    const page = await openPage('#/citizen', openSession());
    await page.getByRole('heading', { name: '暂时无法评价，请稍后' }).waitFor();
    expect(await ratingButtons(page).count()).toBe(0);
    await page.keyboard.press('F1'); // a wedge pad cannot rate either
    await page.waitForTimeout(300);
    expect(submits()).toEqual([]);
    expect(await page.locator('body').textContent()).not.toContain('ENOSPC'); // the detail is for staff
  });
});

describe('citizen screen: the 差评 reason step', { timeout: 60_000 }, () => {
  it('lists that level’s reasons; 提交 needs one; 返回重选 goes back; fits 1920×1080', async () => {
    const page = await openPage('#/citizen', openSession());
    await page.getByRole('button', { name: '非常不满意', exact: true }).click();
    await page.getByRole('heading', { name: '请选择原因（可多选）' }).waitFor();
    const reasons = page.locator('.reason__list button');
    await expect(reasons.allTextContents()).resolves.toEqual(['推诿扯皮', '态度恶劣']);
    const submit = page.getByRole('button', { name: '提交', exact: true });
    await expect(submit.getAttribute('aria-disabled')).resolves.toBe('true');
    await page.getByText('请至少选择一项原因').waitFor();
    await submit.click({ force: true }); // aria-disabled: Playwright would wait for it to be enabled
    await page.waitForTimeout(200);
    expect(submits()).toEqual([]);
    expect(await smallTargets(page)).toEqual([]);
    expect(await textSizes(page)).toBeGreaterThanOrEqual(32);
    expect(await noOverflow(page)).toBe(true);
    await page.screenshot({ path: '/tmp/citizen-reason.png' });

    await page.getByRole('button', { name: '返回重选', exact: true }).click();
    await page.getByRole('button', { name: '非常满意', exact: true }).waitFor();
    expect(await ratingButtons(page).count()).toBe(5);
    expect(await page.locator('.rating-button.is-selected').count()).toBe(0);

    await page.getByRole('button', { name: '不满意', exact: true }).click();
    await page.getByRole('button', { name: '材料要求不清楚', exact: true }).click();
    await expect(
      page.getByRole('button', { name: '材料要求不清楚', exact: true }).getAttribute('aria-pressed'),
    ).resolves.toBe('true');
    await submit.click();
    await page.getByText('谢谢您的评价').waitFor();
    expect(submits()).toEqual([{ level: 2, reasons: ['203'] }]);
  });

  it('time-out of the reason step sends the level with reason_timed_out, after a warning', async () => {
    const page = await openPage('#/citizen', openSession(), { clock: true });
    await page.getByRole('button', { name: '不满意', exact: true }).click();
    await page.getByRole('heading', { name: '请选择原因（可多选）' }).waitFor();
    await page.clock.fastForward(41_000);
    await page.getByText('即将超时，触摸屏幕可继续').waitFor();
    expect(submits()).toEqual([]);
    await page.clock.fastForward(20_000);
    await page.getByText('谢谢您的评价').waitFor();
    expect(submits()).toEqual([{ level: 2, reason_timed_out: true }]);
  });

  it('匿名评价 is shown only when the case allows it, and sent when toggled', async () => {
    const page = await openPage('#/citizen', openSession());
    await page.getByRole('button', { name: '满意', exact: true }).click();
    await page.getByRole('button', { name: '提交', exact: true }).waitFor();
    expect(await page.getByRole('button', { name: '匿名评价' }).count()).toBe(0);

    bridge.setSession(openSession('XJ-1', { anonymousAllowed: true }));
    await page.getByRole('button', { name: '满意', exact: true }).click();
    const toggle = page.getByRole('button', { name: '匿名评价' });
    await toggle.waitFor();
    await expect(toggle.getAttribute('aria-pressed')).resolves.toBe('false');
    await toggle.click();
    await expect(toggle.getAttribute('aria-pressed')).resolves.toBe('true');
    expect(await smallTargets(page)).toEqual([]);
    expect(await noOverflow(page)).toBe(true);
    await page.screenshot({ path: '/tmp/citizen-selected.png' });
    await page.getByRole('button', { name: '提交', exact: true }).click();
    await page.getByText('谢谢您的评价').waitFor();
    expect(submits()).toEqual([{ level: 4, anonymous: true }]);
  });

  it('any touch while rating reports rating.activity (throttled)', async () => {
    const page = await openPage(
      '#/citizen',
      openSession(null, { expiresAt: new Date(Date.now() + 60_000).toISOString() }),
    );
    await page.getByRole('button', { name: '满意', exact: true }).click();
    await page.getByRole('button', { name: '基本满意', exact: true }).click();
    await page.waitForTimeout(300);
    expect(bridge.calls.filter((c) => c.call === 'rating.activity')).toHaveLength(1);
  });
});

describe('citizen screen: keyboard-wedge pad', { timeout: 60_000 }, () => {
  it('F-keys rate only while a rating is open; F5 never reloads the page', async () => {
    const page = await openPage('#/citizen', idleSession());
    await page.getByText('欢迎光临').waitFor();
    await page.evaluate(() => {
      (window as Window & { marker?: number }).marker = 1;
    });
    await page.keyboard.press('F5');
    await page.keyboard.press('F2');
    await page.waitForTimeout(300);
    expect(submits()).toEqual([]);
    await expect(page.evaluate(() => (window as Window & { marker?: number }).marker)).resolves.toBe(1);

    bridge.setSession(openSession());
    await ratingButtons(page).first().waitFor();
    await page.keyboard.press('F2'); // key 2 = 满意: the press is the rating
    await page.getByText('谢谢您的评价').waitFor();
    expect(submits()).toEqual([{ level: 4, source: 'wedge' }]);

    bridge.setSession(openSession());
    await ratingButtons(page).first().waitFor();
    await page.keyboard.press('F4'); // key 4 = 不满意: to the reason step
    await page.getByRole('heading', { name: '请选择原因（可多选）' }).waitFor();
    expect(submits()).toHaveLength(1);
  });
});

describe('staff screen: sign-in, pause, sign-out, store', { timeout: 60_000 }, () => {
  async function typeOnKeypad(page: Page, digits: string) {
    for (const d of digits)
      await page.locator('.keypad').getByRole('button', { name: d, exact: true }).click();
  }

  it('signs out (with a confirm), signs in on the keypad, pauses with a reason and resumes', async () => {
    const page = await openPage('#/staff', idleSession());
    await page.getByText('空闲').waitFor();
    await page.getByRole('button', { name: '签退', exact: true }).click();
    await page.getByText('确定签退吗？签退后本窗口不能评价。').waitFor();
    await page.getByRole('button', { name: '确定签退', exact: true }).click();
    await page.getByRole('heading', { name: '工作人员签到' }).waitFor();
    expect(bridge.calls.at(-1)).toEqual({ call: 'staff.sign_out', args: {} });
    expect(await smallTargets(page)).toEqual([]);
    expect(await noOverflow(page)).toBe(true);

    // A wrong PIN: a clear message that never says which part was wrong; the PIN is cleared.
    await typeOnKeypad(page, DEMO_STAFF_NO);
    await page.getByRole('button', { name: '下一步', exact: true }).click();
    await typeOnKeypad(page, '1234');
    await expect(page.locator('#sign-in-pin').getAttribute('type')).resolves.toBe('password');
    await page.getByRole('button', { name: '签到', exact: true }).click();
    await page.getByRole('alert').getByText('工号或密码不正确，请重新输入').waitFor();
    await expect(page.locator('#sign-in-pin').inputValue()).resolves.toBe('');
    await expect(page.locator('#sign-in-staff-no').inputValue()).resolves.toBe(DEMO_STAFF_NO);
    await page.screenshot({ path: '/tmp/staff-sign-in.png' });

    await typeOnKeypad(page, '2468100');
    await page.locator('.keypad').getByRole('button', { name: '删除', exact: true }).click();
    await page.getByRole('button', { name: '签到', exact: true }).click();
    await page.getByText('空闲').waitFor();
    expect(bridge.calls.filter((c) => c.call === 'staff.sign_in').at(-1)?.args).toEqual({
      staff_no: DEMO_STAFF_NO,
      pin: DEMO_PIN,
    });
    await expect(page.locator('.staff__who').textContent()).resolves.toMatch(/李明.*工号 090317/);

    await page.getByRole('button', { name: '暂停服务', exact: true }).click();
    await page.getByRole('button', { name: '开会', exact: true }).click();
    await page.getByText('暂停原因：开会').waitFor();
    expect(bridge.calls.at(-1)).toEqual({ call: 'staff.pause', args: { reason: 'meeting' } });
    await expect(page.getByRole('button', { name: '邀请评价' }).count()).resolves.toBe(0);
    await page.getByRole('button', { name: '恢复服务', exact: true }).click();
    await page.getByText('空闲').waitFor();
    expect(bridge.calls.at(-1)).toEqual({ call: 'staff.resume', args: {} });
    expect(await noOverflow(page)).toBe(true);
  });

  it('signs in by keyboard alone; LOCKED says so with the time left', async () => {
    bridge.maxAttempts = 1;
    const page = await openPage('#/staff', signedOutSession());
    await page.getByRole('heading', { name: '工作人员签到' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('sign-in-staff-no');
    await page.keyboard.type('0931027');
    await page.keyboard.press('Enter'); // 下一步: to the PIN
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('sign-in-pin');
    await page.keyboard.type('9999');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').getByText('输错次数过多，已暂时锁定，请 5 分钟后再试').waitFor();
    await page.keyboard.type('135790');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').getByText('输错次数过多，已暂时锁定，请 5 分钟后再试').waitFor();
  });

  it('pause and sign-out wait while a rating is open', async () => {
    const page = await openPage('#/staff', openSession());
    await page.getByText('等待评价').waitFor();
    const pause = page.getByRole('button', { name: '暂停服务', exact: true });
    await expect(pause.getAttribute('aria-disabled')).resolves.toBe('true');
    await pause.click({ force: true });
    await page.getByText('评价进行中，请先取消评价再暂停或签退。').waitFor();
    expect(bridge.calls.filter((c) => c.call === 'staff.pause')).toEqual([]);
  });

  it('shows the store’s trouble with its message; no level or reason ever appears', async () => {
    bridge.status.store = { ...bridge.status.store, health: 'read_only', message: 'EROFS /var/lib/haocha' };
    const page = await openPage('#/staff', idleSession());
    await page.getByRole('alert').getByText('本机存储异常，评价无法保存').waitFor();
    await expect(page.locator('.store-banner').textContent()).resolves.toContain('EROFS /var/lib/haocha');
    await page.getByRole('button', { name: '邀请评价' }).click();
    await page.getByText('等待评价').waitFor();
    bridge.setSession({ state: 'thanks', receipt: RECEIPT });
    await page.getByText('评价已完成').waitFor();
    const text = (await page.evaluate(() => document.body.textContent)) ?? '';
    for (const label of LABELS) expect(text).not.toContain(label);
    for (const r of REASONS.reasons) expect(text).not.toContain(r.text['zh-Hans']);
  });
});
