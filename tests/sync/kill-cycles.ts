/**
 * SIGKILL cycles, shared by tests/sync/kill-cycles.test.ts (small) and bench/sync-kill-cycles.ts
 * (full size): a counter child (counter-driver.ts, bundled once) ⇄ the fault proxy (in this process,
 * light seeded faults) ⇄ a hub child (`haocha hub`), both on real files. At random points of the
 * rating stream one of them is SIGKILLed and restarted on the same data; at the end the channel
 * heals, the queue drains, and the hub's export is compared with the counter's store.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { build } from 'esbuild';
import { FaultProxy, seededRandom } from '../helpers/fault-proxy.ts';
import { compare, freePort, hubExport, testTmp, until, verifyHubChain } from './harness.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const HAOCHA = join(REPO, 'bin/haocha.mjs');

export interface KillCycleOptions {
  cycles: number;
  ratings: number;
  /** Ratings per second the counter commits. */
  rate: number;
  seed: number;
  /** Seeded proxy faults between the kills (default true); false for a clean baseline. */
  faults?: boolean;
  /** Progress lines; default silent. */
  log?: (line: string) => void;
}

export interface KillCycleResult {
  cycles: number;
  counterKills: number;
  hubKills: number;
  /** Counter kills before it was even ready (while opening its store). */
  earlyKills: number;
  committed: number;
  /** Seqs the counter reported committed (printed after the commit returned). */
  reported: number;
  hubRows: number;
  lost: number;
  duplicated: number;
  /** At the hub but never committed by the counter. */
  foreign: number;
  /** Seqs reported twice by the counter (a seq reused after a restart). */
  reportedTwice: number;
  chain: string | null;
  uploads: number;
  faults: Record<string, number>;
  durationMs: number;
  /** Ratings per second end to end (committed ÷ time from the first commit to the drained queue, restarts included). */
  ratePerS: number;
}

/** Bundles the driver once (the store's real code) so each of the many restarts starts fast. */
async function bundleDriver(): Promise<{ file: string; dispose(): void }> {
  const cache = join(REPO, 'node_modules', '.cache', `haocha-sync-kill-${process.pid}-${Date.now()}`);
  mkdirSync(cache, { recursive: true });
  const file = join(cache, 'counter-driver.mjs');
  await build({
    entryPoints: [join(REPO, 'tests/sync/counter-driver.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: file,
    packages: 'external',
    logLevel: 'silent',
  });
  return { file, dispose: () => rmSync(cache, { recursive: true, force: true }) };
}

interface Child {
  proc: ChildProcess;
  exited: Promise<void>;
  stderr: () => string;
}

function launch(args: string[], onLine: (line: string) => void): Child {
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr?.on('data', (c: Buffer) => {
    err = (err + c.toString()).slice(-4000);
  });
  createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', onLine);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return { proc, exited, stderr: () => err };
}

async function kill9(c: Child | null): Promise<void> {
  if (!c || c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  c.proc.kill('SIGKILL');
  await c.exited;
}

export async function runKillCycles(opts: KillCycleOptions): Promise<KillCycleResult> {
  const log = opts.log ?? (() => {});
  const rnd = seededRandom(opts.seed);
  const work = mkdtempSync(join(testTmp(), 'haocha-kill-cycles-'));
  const hubDir = join(work, 'hub');
  const counterDir = join(work, 'counter');
  mkdirSync(counterDir);
  const driver = await bundleDriver();
  /** From the first rating committed (process starts and the bundle before it are not counted). */
  let started = 0;

  const reported = new Map<number, number>();
  let maxReported = 0;
  let queue = { depth: Number.POSITIVE_INFINITY, last: 0 };
  let counter: Child | null = null;
  let counterReady = false;
  let hub: Child | null = null;
  let hubUp = false;
  let proxy: FaultProxy | null = null;
  const result = { counterKills: 0, hubKills: 0, earlyKills: 0 };

  const startCounter = (url: string) => {
    counterReady = false;
    queue = { depth: Number.POSITIVE_INFINITY, last: 0 };
    counter = launch([driver.file, counterDir, url, String(opts.ratings), String(opts.rate)], (line) => {
      const [tag, a, b] = line.split(' ');
      if (tag === 'C') {
        const seq = Number(a);
        if (started === 0) started = Date.now();
        reported.set(seq, (reported.get(seq) ?? 0) + 1);
        if (seq > maxReported) maxReported = seq;
      } else if (tag === 'Q') queue = { depth: Number(a), last: Number(b) };
      else if (tag === 'READY') counterReady = true;
    });
  };
  const hubPort = await freePort();
  const startHub = async () => {
    hubUp = false;
    // Unsigned on purpose: these cycles are about exactly-once under kills and faults, not trust
    // (signed uploads under faults: tests/sync/faulty-channel.test.ts with enrolled counters).
    hub = launch([HAOCHA, 'hub', '--data', hubDir, '--port', String(hubPort), '--allow-unsigned'], (line) => {
      if (line.startsWith('hub listening on')) hubUp = true;
    });
    const h = hub;
    await until(() => hubUp || h.proc.exitCode !== null, 60_000, 'hub started');
    if (!hubUp) {
      // The old port may linger for a moment after a kill: try again.
      await new Promise((r) => setTimeout(r, 100));
      return startHub();
    }
  };

  try {
    await startHub();
    proxy = await FaultProxy.start({ upstreamPort: hubPort });
    proxy.random(
      opts.faults === false
        ? null
        : {
            seed: opts.seed,
            weights: { pass: 20, reset_before: 1, lose_response: 1, duplicate: 1, stall: 1, trickle: 0.2 },
            maxStallMs: 100,
            maxDuplicateDelayMs: 200,
          },
    );
    const url = proxy.url;
    startCounter(url);
    const perCycle = opts.ratings / opts.cycles;
    for (let cycle = 1; cycle <= opts.cycles; cycle++) {
      // Kill somewhere in this cycle's share of the stream.
      const at = Math.floor((cycle - 1 + rnd()) * perCycle);
      await until(() => maxReported >= at || queue.last >= at, 120_000, `cycle ${cycle}: rating ${at}`);
      if (rnd() < 0.6) {
        await kill9(counter);
        result.counterKills++;
        startCounter(url);
        if (rnd() < 0.15) {
          // Killed again while opening its store.
          await new Promise((r) => setTimeout(r, Math.floor(rnd() * 150)));
          if (!counterReady) result.earlyKills++;
          await kill9(counter);
          result.counterKills++;
          startCounter(url);
        }
      } else {
        await kill9(hub);
        result.hubKills++;
        await new Promise((r) => setTimeout(r, Math.floor(rnd() * 200)));
        await startHub();
      }
      log(
        `cycle ${cycle}/${opts.cycles}: reported ${maxReported}, queue ${queue.depth}, kills counter ${result.counterKills} hub ${result.hubKills}`,
      );
    }
    // Heal, then let the counter finish its ratings and drain its queue.
    proxy.heal();
    await until(
      () => queue.last >= opts.ratings && queue.depth === 0,
      120_000 + opts.ratings * 5,
      'all ratings committed and acked',
    );
    await proxy.settled();
    const durationMs = Date.now() - started;
    const c = counter as Child | null;
    c?.proc.kill('SIGTERM');
    await c?.exited;
    await kill9(hub);

    const db = new Database(join(counterDir, 'counter.db'), { readonly: true });
    const mine = db.prepare('SELECT seq, event_id FROM ratings ORDER BY seq').all() as {
      seq: number;
      event_id: string;
    }[];
    const deviceId = (db.prepare("SELECT value FROM meta WHERE key = 'device_id'").get() as { value: string })
      .value;
    db.close();
    const hubData = await hubExport(hubDir);
    const cmp = compare(mine, hubData.rows, deviceId);
    // Lost: a seq the counter committed, or reported committed, with its rating not at the hub.
    const atHub = new Set(hubData.rows.filter((r) => r.device_id === deviceId).map((r) => r.event_id));
    const missing = new Set(mine.filter((r) => !atHub.has(r.event_id)).map((r) => r.seq));
    const stored = new Set(mine.map((r) => r.seq));
    for (const seq of reported.keys()) if (!stored.has(seq)) missing.add(seq);
    return {
      cycles: opts.cycles,
      ...result,
      committed: mine.length,
      reported: reported.size,
      hubRows: hubData.rows.length,
      lost: Math.max(cmp.lost, missing.size),
      duplicated: cmp.duplicated,
      foreign: cmp.foreign,
      reportedTwice: [...reported.values()].filter((n) => n > 1).length,
      chain: verifyHubChain(hubData.records, deviceId),
      uploads: proxy.stats.requests,
      faults: { ...proxy.stats.byKind },
      durationMs,
      ratePerS: Math.round((mine.length / durationMs) * 1000),
    };
  } finally {
    await kill9(counter);
    await kill9(hub);
    await proxy?.close();
    driver.dispose();
    rmSync(work, { recursive: true, force: true });
  }
}
