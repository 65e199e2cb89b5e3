/**
 * Backlog drain: a counter that was offline holds 1,000,000 queued ratings; how fast do they reach a
 * loopback hub, against the ceiling of the hub's own batch insert on the same engine, measured in
 * the same run (goal: drain ≥ 50 % of the ceiling).
 *
 *   node --import tsx bench/sync-drain.ts [--rows 1000000] [--db postgres]
 *
 * Ceiling: the raw batch insert: the hub store's ingest() called directly with 500-record batches
 * whose hashes are known good (chain, dedup, insert; the hash check runs in the hub's parse
 * workers, beside the store's thread), on a fresh store.
 * Drain: the counter's real SyncLoop (gzip, byte-cut batches, enrolled and signing) over HTTP to a
 * hub in its own process, on another fresh store, until the queue is empty; then every rating is
 * checked present.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../hub/store/open.ts';
import { defaultCounterConfig } from '../src-main/core/config.ts';
import { CounterStore, rowToRecord } from '../src-main/core/store/counter-store.ts';
import { SyncLoop } from '../src-main/core/sync.ts';
import { MAX_BATCH_ITEMS } from '../src-shared/index.ts';
import { enrolledSigner } from '../tests/config-bundle/fixture.ts';
import { given, ratingCtx } from '../tests/core/store-fixtures.ts';
import { benchDb } from './lib/bench-db.ts';
import { spawnHub } from './lib/spawn-hub.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const ROWS = Number(arg('rows') ?? 1_000_000);
const DB_ARG = arg('db');
if (DB_ARG !== undefined && DB_ARG !== 'postgres') {
  // The ceiling and the drain each need an empty database of their own.
  console.error('--db takes only `postgres` here (a throwaway cluster with two fresh databases)');
  process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), 'haocha-bench-drain-'));
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * Real records through the counter's own commit path (hashes chained, schema-checked), 10,000 per
 * transaction so a million rows take a minute rather than an fsync each.
 */
function fill(store: CounterStore, n: number): void {
  const levels = [5, 4, 3, 5, 4] as const;
  const t0 = performance.now();
  for (let from = 0; from < n; from += 10_000) {
    const to = Math.min(n, from + 10_000);
    store.db.transaction(() => {
      for (let i = from; i < to; i++)
        store.commitRating(given(levels[i % 5] as 5 | 4 | 3), ratingCtx({ case_ref: `C-2026-${i}` }));
    })();
    if (to % 200_000 === 0 || to === n) console.log(`  filled ${to} (${secs(performance.now() - t0)})`);
  }
  store.checkpoint();
}

/** The hub's batch-insert ceiling: store.ingest() with full batches, no HTTP. */
async function ceiling(store: CounterStore, db: string | undefined): Promise<number> {
  const hub = await openStore({ dataDir: join(work, 'hub-ceiling'), db });
  const select = store.db.prepare('SELECT * FROM ratings WHERE seq > ? ORDER BY seq LIMIT ?');
  let ingestMs = 0;
  let stored = 0;
  for (let after = 0; ; ) {
    const rows = select.all(after, MAX_BATCH_ITEMS) as Parameters<typeof rowToRecord>[0][];
    if (rows.length === 0) break;
    const items = rows.map((r) => rowToRecord(r, store.deviceId));
    const t0 = performance.now();
    // Raw insert: these hashes are known good, and in the hub the parse workers check them beside
    // the event loop, so the ceiling is what the store alone can write.
    const out = await hub.ingest({ device_id: store.deviceId, items }, new Date(), { hashesVerified: true });
    ingestMs += performance.now() - t0;
    if (!out.ok) throw new Error(`ceiling ingest refused: ${out.rejection.message}`);
    stored += out.stored;
    after = rows[rows.length - 1]?.seq ?? after;
  }
  await hub.close();
  if (stored !== ROWS) throw new Error(`ceiling stored ${stored} of ${ROWS}`);
  console.log(`ceiling: ${stored} ratings ingested in ${secs(ingestMs)} of store time`);
  return stored / (ingestMs / 1000);
}

async function drain(store: CounterStore, db: string | undefined): Promise<number> {
  const hub = await spawnHub(join(work, 'hub-drain'), db);
  const sync = { ...defaultCounterConfig().sync, batch_size: MAX_BATCH_ITEMS, interval_ms: 1000 };
  // Enrolled and signing, as every counter in a hall is (the hub verifies each batch).
  const signer = await enrolledSigner(hub.url, join(work, 'hub-drain'), join(work, 'key'), store.deviceId);
  const loop = new SyncLoop(store, hub.url, sync, fetch, signer);
  const t0 = performance.now();
  loop.start();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const v = loop.view();
      if (v.queue_depth === 0) {
        clearInterval(tick);
        resolve();
      }
    }, 100);
  });
  const ms = performance.now() - t0;
  loop.stop();
  const res = await fetch(`${hub.url}/metrics`);
  const stored = Number(/^haocha_hub_ratings (\d+)/m.exec(await res.text())?.[1] ?? -1);
  await hub.stop();
  console.log(`drain: ${ROWS} ratings over HTTP in ${secs(ms)}; the hub holds ${stored}`);
  if (stored !== ROWS) throw new Error(`hub holds ${stored} ratings, expected ${ROWS}`);
  return ROWS / (ms / 1000);
}

try {
  const store = new CounterStore(join(work, 'counter.sqlite'));
  console.log(`filling ${ROWS} queued ratings…`);
  fill(store, ROWS);
  const engine = await benchDb(DB_ARG);
  const ceil = await ceiling(store, engine.database('haocha_ceiling'));
  const rate = await drain(store, engine.database('haocha_drain'));
  engine.stop();
  const ratio = rate / ceil;
  console.log(
    `${ratio >= 0.5 ? 'PASS' : 'FAIL'}  ${engine.label}: drain ${Math.round(rate)}/s vs hub batch-insert ceiling ${Math.round(ceil)}/s = ${(ratio * 100).toFixed(0)} % (goal ≥ 50 %)`,
  );
  store.close();
  process.exitCode = ratio >= 0.5 ? 0 : 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
