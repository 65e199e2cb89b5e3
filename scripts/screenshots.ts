/**
 * Remakes the README's screenshots (docs/*.png) from the real UI: a hub with a day of ratings,
 * and a counter's citizen screen with a rating open. Run: node --import tsx scripts/screenshots.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHub } from '../hub/server.ts';
import { openHubStore } from '../hub/store/sqlite.ts';
import { defaultCounterConfig } from '../src-main/core/config.ts';
import { Counter } from '../src-main/core/counter.ts';
import { startDevhost } from '../src-main/devhost/devhost.ts';
import { launchChromium } from '../tests/helpers/chromium.ts';
import { batchOf, makeStream } from '../tests/hub/records.ts';

const repo = fileURLToPath(new URL('../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'haocha-shots-'));
const browser = await launchChromium();
try {
  // The hub's page: today's ratings from three windows, some 未评价 and one flagged.
  const hubDir = join(dir, 'hub');
  const store = openHubStore(hubDir);
  const today = new Date();
  for (const [w, n] of [
    ['W01', 40],
    ['W02', 25],
    ['W03', 12],
  ] as const) {
    const stream = makeStream({
      deviceId: `ctr-${w}`,
      count: n,
      windowId: () => w,
      hallId: 'DIV9-MAIN',
      ratedAt: (i) => new Date(today.getTime() - (n - i) * 60_000).toISOString(),
      level: (i) => ([5, 5, 4, 5, 3, 4, 5, 2, 5, 4] as const)[i % 10] as 5,
      outcome: (i) => (i % 13 === 12 ? 'not_rated' : 'rated'),
      signals: (i) => (i === 7 ? ['burst'] : []),
    });
    await store.ingest(batchOf(stream, 1, n), today);
  }
  await store.close();
  const hub = await startHub({ dataDir: hubDir, port: 0, logger: false });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${hub.url}/`);
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(repo, 'docs/hub-page.png') });
  await page.close();

  // The citizen screen with a rating open for a case.
  const counter = new Counter({
    dataDir: join(dir, 'counter'),
    hubUrl: hub.url,
    config: defaultCounterConfig(),
  });
  counter.start();
  const ui = await startDevhost({ counter, staticDir: join(repo, 'dist-renderer'), port: 0 });
  counter.openCase(
    {
      case_ref: 'XJ9-2026-004217',
      item_code: '11659000MB1234567X4000117001000',
      item_name: '食品经营许可证核发',
      case_status: '办结',
      accepted_at: null,
      finished_at: null,
      dept_id: null,
      rater_type: 'person',
      anonymous_allowed: true,
      rater: null,
    },
    'api:screenshots',
    'api',
  );
  const citizen = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  await citizen.goto(`${ui.url}/#/citizen`);
  await citizen.waitForTimeout(1000);
  await citizen.screenshot({ path: join(repo, 'docs/citizen-screen.png') });
  await citizen.close();
  await ui.close();
  await counter.close();
  await hub.close();
} finally {
  await browser.close();
  rmSync(dir, { recursive: true, force: true });
}
