/**
 * A counter in a child process, for the kill cycles: a real Counter (store, session, SyncLoop) on
 * DATA_DIR uploading to HUB_URL, committing screen ratings at a steady rate until the store holds
 * TOTAL of them, then only syncing. Killed with SIGKILL at any moment, restarted on the same dir.
 *
 *   counter-driver DATA_DIR HUB_URL TOTAL RATE_PER_S
 *
 * Lines on stdout: `READY <last_seq>` once the counter is open; `C <seq>` after each rating's
 * commit returned (so every seq printed must reach the hub: it is what the citizen was thanked
 * for); `Q <queue_depth> <last_seq>` every 100 ms.
 */
import { writeSync } from 'node:fs';
import { defaultCounterConfig } from '../../src-main/core/config.ts';
import { Counter } from '../../src-main/core/counter.ts';

const [dataDir, hubUrl, totalArg, rateArg] = process.argv.slice(2);
if (!dataDir || !hubUrl || !totalArg || !rateArg) {
  process.stderr.write('usage: counter-driver DATA_DIR HUB_URL TOTAL RATE_PER_S\n');
  process.exit(2);
}
const total = Number(totalArg);
const rate = Number(rateArg);
const out = (line: string) => writeSync(1, `${line}\n`);

const config = defaultCounterConfig();
const counter = new Counter({
  dataDir,
  hubUrl,
  config: {
    ...config,
    sync: { interval_ms: 50, batch_size: 200, backoff_min_ms: 10, backoff_max_ms: 200 },
  },
});
counter.start();
out(`READY ${counter.store.queueStats().last_seq}`);

const TICK_MS = 10;
let credit = 0;
let level = 0;
const timer = setInterval(() => {
  credit += (rate * TICK_MS) / 1000;
  while (credit >= 1) {
    credit--;
    const last = counter.store.queueStats().last_seq;
    if (last >= total) {
      credit = 0;
      break;
    }
    counter.openRating(null);
    counter.submitScreenRating({ level: ((level++ % 5) + 1) as 1, reason_timed_out: true });
    out(`C ${counter.store.queueStats().last_seq}`);
  }
}, TICK_MS);
const report = setInterval(() => {
  const q = counter.store.queueStats();
  out(`Q ${q.queue_depth} ${q.last_seq}`);
}, 100);

process.on('SIGTERM', () => {
  clearInterval(timer);
  clearInterval(report);
  void counter.close().then(() => process.exit(0));
});
