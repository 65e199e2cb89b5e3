/**
 * Counter store benchmarks, each a ratio against a baseline measured in the same run (never a
 * hard-coded time: this machine's speed varies with its load).
 *
 *   node --import tsx bench/counter-store.ts [--rows 1000000] [--commits 1500] [--keep]
 *
 * (a) a rating's commit (rating row = outbox entry, plus its audit entry, one FULL-sync
 *     transaction) p99 ≤ 2 × a raw single-row FULL-sync insert's p99, interleaved one for one;
 * (b) with 1,000,000 queued ratings: single commits at ≥ 80 % of an empty store's rate (the two
 *     stores interleaved one for one), ≤ 600 bytes per rating on disk (checkpointed file size /
 *     rows), and queueStats (what `haocha status` and heartbeats ask) < 50 ms.
 * Prints the figures and PASS/FAIL per target; exits 1 when any target fails.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AuditLog } from '../src-main/core/audit/audit-log.ts';
import { CounterStore, queueStats } from '../src-main/core/store/counter-store.ts';
import { openStoreReadonly } from '../src-main/core/store/open.ts';
import { given, ratingCtx } from '../tests/core/store-fixtures.ts';
import { quantile } from './lib/quantile.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const ROWS = arg('rows', 1_000_000);
const COMMITS = arg('commits', 1500);
const keep = process.argv.includes('--keep');

const dir = mkdtempSync(join(tmpdir(), 'haocha-bench-store-'));
const results: { name: string; figure: string; pass: boolean }[] = [];
const report = (name: string, figure: string, pass: boolean) => {
  results.push({ name, figure, pass });
  console.log(`${pass ? 'PASS' : 'FAIL'}  ${name}: ${figure}`);
};

const ms = (x: number) => `${x.toFixed(3)} ms`;

/** One rating as the counter commits it: the rating row (its own outbox entry) and its audit entry. */
function ratingCommitter(store: CounterStore) {
  const audit = new AuditLog(store.db);
  const ctx = ratingCtx();
  return () =>
    store.transact(() => {
      const r = store.commitRating(given(5), ctx);
      audit.append('citizen', 'rating.committed', { seq: r.seq, receipt: r.event_id.slice(-8) });
    });
}

/** The baseline: a 13-field rating-sized row, one autocommit FULL-sync insert, WAL. */
function rawInserter(path: string) {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`CREATE TABLE t (seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL, level INTEGER NOT NULL,
    channel INTEGER NOT NULL, case_ref TEXT, staff_no TEXT NOT NULL, staff_name TEXT NOT NULL,
    window_id TEXT NOT NULL, hall_id TEXT NOT NULL, rated_at TEXT NOT NULL, app_boot_id TEXT NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL) STRICT`);
  const insert = db.prepare('INSERT INTO t VALUES (NULL, ?, 5, 4, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  let i = 0;
  const h = 'ab'.repeat(32);
  return {
    run: () => {
      i++;
      insert.run(
        `0192f0aa-0000-7000-8000-${String(i).padStart(12, '0')}`,
        `C-${i}`,
        '090317',
        '李明',
        'W03',
        'DIV9-MAIN',
        new Date().toISOString(),
        '0192f0aa-0000-7000-8000-000000000000',
        h,
        h,
      );
    },
    close: () => db.close(),
  };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

function time(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

/**
 * Fills a store with `n` queued ratings shaped like real ones (same fields and lengths as a
 * committed rating: UUIDv7-ordered event ids, 64-hex hashes, distinct case numbers), in SQLite
 * batches of 50,000: the rating code path costs milliseconds per row on a busy machine, which a
 * million rows cannot afford, and what is measured afterwards does not depend on who wrote them.
 */
function fill(store: CounterStore, n: number): void {
  const template = store.commitRating(given(5), ratingCtx());
  const batch = 50_000;
  const insert = store.db.prepare(`
    WITH RECURSIVE k(i) AS (SELECT @from UNION ALL SELECT i + 1 FROM k WHERE i < @to)
    INSERT INTO ratings (seq, event_id, rec_version, outcome, level, channel, case_ref, item_code, item_name,
      case_status, accepted_at, finished_at, assess_number, reasons, reason_status, reason_dict_version,
      dimensions, free_text, rater_type, anonymous, rater, signals, staff_no, staff_name, window_id, hall_id,
      dept_id, config_version, opened_at, rated_at, mono_ms, app_boot_id, source, pad_boot_id, pad_press_id,
      pad_key, prev_hash, hash)
    SELECT i, printf('0192f0aa-%04x-7%03x-8%03x-%012x', (i >> 24) & 65535, (i >> 12) & 4095, i & 4095, i),
      2, 'rated', 1 + i % 5, 4, printf('C-2026-%07d', i), @item_code, @item_name,
      @case_status, @accepted_at, NULL, 1, NULL, 'not_required', NULL,
      NULL, NULL, 'person', 0, NULL, NULL, @staff_no, @staff_name, @window_id, @hall_id,
      @dept_id, @config_version, strftime('%Y-%m-%dT%H:%M:%fZ', 1790000000 + i * 60, 'unixepoch'),
      strftime('%Y-%m-%dT%H:%M:%fZ', 1790000000 + i * 60 + 7.5, 'unixepoch'), i * 1000.125, @app_boot_id,
      'pad', 7, i, 1 + i % 5, lower(hex(randomblob(32))), lower(hex(randomblob(32)))
    FROM k`);
  const t0 = performance.now();
  for (let from = 2; from <= n; from += batch) {
    const to = Math.min(n, from + batch - 1);
    store.db.transaction(() =>
      insert.run({
        from,
        to,
        item_code: template.item_code,
        item_name: template.item_name,
        case_status: template.case_status,
        accepted_at: template.accepted_at,
        staff_no: template.staff_no,
        staff_name: template.staff_name,
        window_id: template.window_id,
        hall_id: template.hall_id,
        dept_id: template.dept_id,
        config_version: template.config_version,
        app_boot_id: template.app_boot_id,
      }),
    )();
    if ((to - 1) % 200_000 < batch)
      console.log(`  filled ${to} rows (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  store.db.pragma('wal_checkpoint(TRUNCATE)');
}

try {
  // (a) commit latency against the raw insert, interleaved so both see the same machine.
  {
    const store = new CounterStore(join(dir, 'a.db'));
    const commit = ratingCommitter(store);
    const raw = rawInserter(join(dir, 'raw.db'));
    for (let i = 0; i < 50; i++) {
      commit();
      raw.run();
    }
    const ours: number[] = [];
    const base: number[] = [];
    for (let i = 0; i < COMMITS; i++) {
      base.push(time(raw.run));
      ours.push(time(commit));
      // Each rating is its own event in the app: what the store defers to after a commit runs here.
      await tick();
    }
    raw.close();
    store.close();
    const p99 = quantile(ours, 0.99);
    const b99 = quantile(base, 0.99);
    console.log(
      `  raw FULL insert p50 ${ms(quantile(base, 0.5))} p99 ${ms(b99)}; rating+audit commit p50 ${ms(quantile(ours, 0.5))} p99 ${ms(p99)} (n=${COMMITS})`,
    );
    report(
      '(a) rating + outbox + audit commit p99 ≤ 2 × raw FULL insert p99',
      `${(p99 / b99).toFixed(2)} ×`,
      p99 <= 2 * b99,
    );
  }

  // (b) a million queued ratings.
  {
    const empty = new CounterStore(join(dir, 'empty.db'));
    let clock = Date.now();
    const big = new CounterStore(join(dir, 'big.db'), () => new Date(clock));
    console.log(`  filling ${ROWS} queued ratings…`);
    fill(big, ROWS);
    const rows = (big.db.prepare('SELECT COUNT(*) AS n FROM ratings').get() as { n: number }).n;
    const bytes = statSync(join(dir, 'big.db')).size;
    const perRow = bytes / rows;
    report(
      '(b) bytes per rating on disk ≤ 600',
      `${perRow.toFixed(0)} B (${(bytes / 2 ** 20).toFixed(1)} MiB / ${rows} rows)`,
      perRow <= 600,
    );

    const commitEmpty = ratingCommitter(empty);
    const commitBig = ratingCommitter(big);
    for (let i = 0; i < 50; i++) {
      commitEmpty();
      commitBig();
    }
    const atEmpty: number[] = [];
    const atBig: number[] = [];
    const n = Math.max(200, Math.floor(COMMITS / 2));
    for (let i = 0; i < n; i++) {
      atEmpty.push(time(commitEmpty));
      atBig.push(time(commitBig));
      await tick();
    }
    const rateEmpty = 1000 / quantile(atEmpty, 0.5);
    const rateBig = 1000 / quantile(atBig, 0.5);
    const meanRatio = atEmpty.reduce((a, b) => a + b, 0) / atBig.reduce((a, b) => a + b, 0);
    console.log(
      `  single commits: empty ${rateEmpty.toFixed(0)}/s (p50 ${ms(quantile(atEmpty, 0.5))}), at ${rows} ${rateBig.toFixed(0)}/s (p50 ${ms(quantile(atBig, 0.5))}); by mean ${(meanRatio * 100).toFixed(0)} % (n=${n})`,
    );
    report(
      '(b) commit rate at 1M ≥ 80 % of empty (by median)',
      `${((rateBig / rateEmpty) * 100).toFixed(0)} %`,
      rateBig >= 0.8 * rateEmpty,
    );

    // queueStats on the counter's own connection and on a fresh read-only one (haocha status).
    const own: number[] = [];
    for (let i = 0; i < 7; i++) own.push(time(() => queueStats(big.db)));
    const ro = openStoreReadonly(join(dir, 'big.db'));
    const cold = time(() => queueStats(ro));
    const warm: number[] = [];
    for (let i = 0; i < 7; i++) warm.push(time(() => queueStats(ro)));
    const stats = queueStats(ro);
    ro.close();
    console.log(`  queueStats: ${JSON.stringify(stats)}`);
    console.log(
      `  queueStats: counter connection median ${ms(quantile(own, 0.5))}, read-only first call ${ms(cold)}, then median ${ms(quantile(warm, 0.5))}`,
    );
    const worst = Math.max(quantile(own, 0.5), cold, quantile(warm, 0.5));
    report('(b) queueStats with 1M queued < 50 ms', ms(worst), worst < 50);
    empty.close();

    // Informational: the whole footprint of a pad rating (its press row for dedup and its audit
    // entry too), then retention at this size: pruning old acked rows in 500-row batches while
    // their press rows stay (the rating_seq index makes unlinking and the foreign key check seeks).
    big.db.transaction(() => {
      big.db
        .prepare(
          `INSERT INTO pad_presses (pad_boot_id, press_id, key, outcome, reason, rating_seq, received_at)
           SELECT pad_boot_id, pad_press_id, pad_key, 0, 'rating', seq, rated_at FROM ratings WHERE pad_press_id IS NOT NULL`,
        )
        .run();
      const head = (big.db.prepare('SELECT MAX(seq) AS s FROM audit_log').get() as { s: number }).s;
      big.db
        .prepare(
          `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?)
           INSERT INTO audit_log (seq, at, actor, action, details, prev_hash, hash)
           SELECT ? + i, strftime('%Y-%m-%dT%H:%M:%fZ', 1790000000 + i * 60, 'unixepoch'), 'citizen',
             'rating.committed', printf('{"press_id":%d,"seq":%d}', i, i), lower(hex(randomblob(32))),
             lower(hex(randomblob(32))) FROM k`,
        )
        .run(rows - head, head);
    })();
    big.db.pragma('wal_checkpoint(TRUNCATE)');
    const fullBytes = statSync(join(dir, 'big.db')).size;
    console.log(
      `  info: with a press row and an audit entry per rating: ${(fullBytes / rows).toFixed(0)} B per rating (${(fullBytes / 2 ** 20).toFixed(1)} MiB)`,
    );
    const pruneRows = Math.min(100_000, rows - 1);
    big.markAckedThrough(pruneRows);
    clock += 31 * 86_400_000;
    const batches: number[] = [];
    let last = performance.now();
    const origSetImmediate = setImmediate;
    // Time each batch: the prune yields with setImmediate between batches.
    (globalThis as { setImmediate: unknown }).setImmediate = (fn: () => void) =>
      origSetImmediate(() => {
        const t = performance.now();
        batches.push(t - last);
        fn();
        last = performance.now();
      });
    const t0 = performance.now();
    const pruned = await big.pruneAcked(30, 500);
    const total = performance.now() - t0;
    (globalThis as { setImmediate: unknown }).setImmediate = origSetImmediate;
    console.log(
      `  info: pruneAcked ${pruned.pruned} rows (${pruned.presses_unlinked} presses unlinked) in ${pruned.batches} batches: ${((pruned.pruned / total) * 1000).toFixed(0)} rows/s, batch p50 ${ms(quantile(batches, 0.5))}, max ${ms(Math.max(...batches))}`,
    );
    big.close();
  }
} finally {
  if (keep) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}

const failed = results.filter((r) => !r.pass).length;
console.log(
  failed === 0 ? 'counter-store bench: all targets met' : `counter-store bench: ${failed} target(s) missed`,
);
process.exitCode = failed === 0 ? 0 : 1;
