import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startHub } from '../../hub/server.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { makeTempDir } from './harness.ts';
import { batchOf, makeStream } from './records.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

// Catches what string checks cannot: a CSP hash that blocks the script, or a script error.
// `npm test` installs Chromium first (scripts/prereqs.mjs), so a missing browser is a failure, not a skip.
describe('GET / in a real browser', () => {
  it('runs its script under its CSP and refreshes the counts without a reload', async () => {
    const dataDir = await makeTempDir();
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const hub = await startHub({ dataDir, port: 0, logger: false });
    cleanups.push(() => hub.close());
    const now = new Date().toISOString();
    const stream = makeStream({
      count: 10,
      ratedAt: () => now,
      windowId: (i) => `W0${i % 2}`,
      outcome: (i) => (i === 9 ? 'not_rated' : 'rated'),
    });
    const post = (from: number, to: number) =>
      fetch(`${hub.url}/api/v1/ingest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(batchOf(stream, from, to)),
      });
    expect((await post(1, 4)).status).toBe(200);

    const browser = await launchChromium();
    cleanups.push(() => browser.close());
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));

    await page.goto(hub.url);
    expect(await page.textContent('#t-total')).toBe('4');
    expect((await post(5, 10)).status).toBe(200);
    await page.waitForFunction(() => document.getElementById('t-total')?.textContent === '9', null, {
      timeout: 15_000,
    });
    expect(await page.locator('#rows tr').count()).toBe(2);
    // The script fills the same 13 cells as the server, and the three rates.
    expect(await page.locator('#rows tr').first().locator('td, th').count()).toBe(13);
    expect(await page.textContent('#t-not-rated')).toBe('1');
    expect(await page.textContent('#t-not-rated-rate')).toBe('10.0%');
    expect(await page.textContent('#status')).toContain('已更新');
    expect(problems).toEqual([]);
  }, 30_000);
});
