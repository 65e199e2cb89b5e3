import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SessionView } from '../../src-shared/calls.ts';
import { LEVEL_LABELS_ZH, LEVELS } from '../../src-shared/levels.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { type FakeBridge, idleSession, openSession, RECEIPT, startFakeBridge } from './fake-bridge.ts';

/**
 * The real renderer, built by Vite, in Debian's Chromium against a fake /bridge: what a citizen and
 * a clerk see at 1920×1080 (ui-guidelines §1, §2, §4, §5).
 */
const repo = fileURLToPath(new URL('../../', import.meta.url));
const dist = join(repo, 'dist-renderer');
const LABELS = LEVELS.map((l) => LEVEL_LABELS_ZH[l]); // 非常满意 … 非常不满意, pad keys 1–5

let browser: Browser;
let bridge: FakeBridge;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  // dist-renderer/ is built once by tests/global-setup.ts.
  if (!existsSync(join(dist, 'index.html')))
    throw new Error('dist-renderer/ missing: run npm run build:renderer');
  bridge = await startFakeBridge(dist);
  // launch() gives Chromium a fresh temporary profile of its own (it refuses --user-data-dir).
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await bridge?.close();
});

afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close();
  bridge.submit = { kind: 'ok' };
  bridge.status.pad.link = 'up';
});

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
      const button = page.getByRole('button', { name: label, exact: true });
      await button.click();
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
    expect(submitted.slice(-5)).toEqual(LEVELS.map((level) => ({ level })));
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
    await expect(button.getAttribute('class')).resolves.toContain('is-pressed');
    await page.getByText('正在提交…').waitFor({ timeout: 2000 });
    expect(await page.getByText('谢谢您的评价').count()).toBe(0);
    await page.getByText('谢谢您的评价').waitFor({ timeout: 5000 });
  });

  it('a failed commit says so and never thanks; the citizen can press again', async () => {
    const page = await openPage('#/citizen', openSession());
    bridge.submit = { kind: 'fail' };
    await page.getByRole('button', { name: '不满意', exact: true }).click();
    await page.getByRole('alert').getByText('评价未能保存，请再按一次或扫码评价').waitFor();
    expect(await page.getByText('谢谢您的评价').count()).toBe(0);
    bridge.submit = { kind: 'ok' };
    await page.getByRole('button', { name: '不满意', exact: true }).click();
    await page.getByText('谢谢您的评价').waitFor();
  });

  it('10 s without an answer is a failure', async () => {
    const page = await openPage('#/citizen', openSession(), { clock: true });
    bridge.submit = { kind: 'hang' };
    await page.getByRole('button', { name: '非常不满意', exact: true }).click();
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

  it('shows trouble in the status strip in words', async () => {
    const page = await openPage('#/staff', idleSession());
    bridge.status.sync.hub = 'unreachable';
    bridge.emit('sync', bridge.status.sync);
    await page.getByText('评价中心：无法连接').waitFor();
    bridge.status.sync.hub = 'ok';
    bridge.emit('sync', bridge.status.sync);
  });
});
