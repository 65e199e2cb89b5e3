import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHub } from '../../hub/server.ts';
import { run as runStatus } from '../../src-main/cli/status.ts';
import { type CounterConfig, defaultCounterConfig } from '../../src-main/core/config.ts';
import { Counter } from '../../src-main/core/counter.ts';
import type { Level, RatingRecord, SyncView } from '../../src-shared/index.ts';
import { testDb } from '../hub/harness.ts';
import { freePort, hubExport, testTmp, until, verifyHubChain } from './harness.ts';

const DAY_MS = 86_400_000;
const DAYS = 10;
const PER_DAY = 30;
/** The counter restarts (new boot id, monotonic clock from 0) after this many days. */
const RESTART_AFTER_DAY = 4;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(testTmp(), 'haocha-offline-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function config(): CounterConfig {
  const c = defaultCounterConfig();
  return { ...c, sync: { interval_ms: 50, batch_size: 20, backoff_min_ms: 20, backoff_max_ms: 200 } };
}

describe('ten days offline', () => {
  it('the backlog drains in seq order, each rating once, with the times the counter recorded', async () => {
    // The counter's wall clock, moved forward by the test: 08:30 Shanghai on day 0.
    let clock = Date.parse('2026-11-02T00:30:00.000Z');
    const now = () => new Date(clock);
    const port = await freePort();
    const hubUrl = `http://127.0.0.1:${port}`;
    const dataDir = join(dir, 'counter');
    const expected: { rated_at: string; boot: number }[] = [];
    const boots: string[] = [];

    let counter = new Counter({ dataDir, hubUrl, config: config(), now });
    boots.push(counter.store.appBootId);
    counter.start();
    try {
      for (let day = 0; day < DAYS; day++) {
        if (day === RESTART_AFTER_DAY + 1) {
          // Overnight restart, still offline.
          await counter.close();
          counter = new Counter({ dataDir, hubUrl, config: config(), now });
          boots.push(counter.store.appBootId);
          counter.start();
        }
        clock = Date.parse('2026-11-02T00:30:00.000Z') + day * DAY_MS;
        for (let i = 0; i < PER_DAY; i++) {
          clock += 7 * 60_000 + i * 1000; // a rating every ~7 minutes through the day
          counter.openRating(`C-${day}-${i}`);
          counter.submitScreenRating({ level: (((day + i) % 5) + 1) as Level, reason_timed_out: true });
          expected.push({ rated_at: now().toISOString(), boot: boots.length - 1 });
        }
      }
      const total = DAYS * PER_DAY;
      // Offline: everything queued, the hub unreachable, no rate and so no ETA yet.
      await until(() => counter.sync.view().hub === 'unreachable', 5000, 'hub seen unreachable');
      const offline = counter.sync.view();
      expect(offline).toMatchObject({
        queue_depth: total,
        last_acked_seq: 0,
        upload_rate: null,
        eta_s: null,
      });
      expect(offline.oldest_unsent_age_s).not.toBeNull();

      const views: SyncView[] = [];
      counter.on('sync', (v) => views.push(v));
      // The hub's database: SQLite in the hub dir, or a fresh PostgreSQL schema (project hub-postgres).
      const db = await testDb();
      const hub = await startHub({ dataDir: join(dir, 'hub'), db, port, logger: false });
      try {
        await until(() => counter.store.queueStats().queue_depth === 0, 15_000, 'backlog drained');
      } finally {
        await hub.close();
      }
      // Progress: the queue only went down while draining, an ETA was shown on the way, 0 at the end.
      const depths = views.map((v) => v.queue_depth);
      expect(depths.every((d, i) => i === 0 || d <= (depths[i - 1] as number))).toBe(true);
      expect(views.some((v) => v.queue_depth > 0 && typeof v.eta_s === 'number' && v.eta_s > 0)).toBe(true);
      expect(views.some((v) => (v.upload_rate ?? 0) > 0)).toBe(true);
      expect(counter.sync.view()).toMatchObject({ queue_depth: 0, eta_s: 0, last_acked_seq: total });
      // `haocha status` shows the same progress from the running counter.
      let printed = '';
      const write = process.stdout.write;
      process.stdout.write = ((chunk: string) => {
        printed += chunk;
        return true;
      }) as typeof process.stdout.write;
      try {
        await runStatus(['--data', dataDir]);
      } finally {
        process.stdout.write = write;
      }
      expect(JSON.parse(printed)).toMatchObject({ running: true, queue_depth: 0, eta_s: 0, dead_letters: 0 });

      const { records } = await hubExport(join(dir, 'hub'), db);
      // In storage order: seq 1..total, each once, the chain unbroken across the restart.
      expect(records.map((r) => r.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      expect(verifyHubChain(records, counter.store.deviceId)).toBeNull();
      const current = records as RatingRecord[];
      // Times as the counter's clock said when each was given, over ten days.
      expect(current.map((r) => r.rated_at)).toEqual(expected.map((e) => e.rated_at));
      expect(
        Date.parse(current.at(-1)?.rated_at ?? '') - Date.parse(current[0]?.rated_at ?? ''),
      ).toBeGreaterThan(9 * DAY_MS);
      // Boot ids: the first process's, then the restarted one's; monotonic time rises within each boot.
      expect(current.map((r) => r.app_boot_id)).toEqual(expected.map((e) => boots[e.boot]));
      for (let i = 1; i < current.length; i++) {
        const [a, b] = [current[i - 1] as RatingRecord, current[i] as RatingRecord];
        if (a.app_boot_id === b.app_boot_id) expect(b.mono_ms).toBeGreaterThanOrEqual(a.mono_ms);
      }
    } finally {
      await counter.close();
    }
  });
});
