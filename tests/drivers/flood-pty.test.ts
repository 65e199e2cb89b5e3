/**
 * Misbehaving pads (issue 4, "must hold"): one that floods the line with 1 MB/s of noise for
 * 5 s, one that says nothing, one that answers everything with garbage. The counter's side (the
 * real PadSupervisor + HostLink reading a real pty, and the counter store, in this process) must
 * keep its event loop moving (p99 lateness < 100 ms, max < 250 ms, over a no-pad baseline; see
 * expectResponsive) and its store writable: a screen rating is committed every 20 ms throughout.
 * The bad pad runs in a child (tests/helpers/bad-pad.ts) so its own work is not measured here.
 */

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PadSupervisor, type SupervisorCounters, type SupervisorState } from '../../drivers/supervisor.ts';
import { SerialTransport } from '../../drivers/transports/serial.ts';
import { CounterStore, plainGiven } from '../../src-main/core/store/counter-store.ts';
import { createPtyPair, socatPath } from '../helpers/pty.ts';
import { ratingContext } from '../helpers/soak.ts';

if (socatPath() === null)
  throw new Error('socat is not installed: run scripts/prereqs.mjs or apt-get install -y socat');

const BAD_PAD = fileURLToPath(new URL('../helpers/bad-pad.ts', import.meta.url));
const DURATION_MS = 5000;
const MB = 1024 * 1024;

interface Run {
  /** Event-loop lateness without our own commits (see underBadPad), ms. */
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  /** monitorEventLoopDelay over the same time, commits included, ms. */
  histP99Ms: number;
  histMaxMs: number;
  screenRatings: number;
  slowestCommitMs: number;
  written: number;
  states: SupervisorState[];
  keys: number;
  counters: SupervisorCounters;
}

/** `mode` null: the baseline, the same rating loop with no pad at all. */
async function underBadPad(dir: string, mode: 'flood' | 'garbage' | 'silent' | null): Promise<Run> {
  mkdirSync(dir, { recursive: true });
  const pair = await createPtyPair(dir);
  const store = new CounterStore(join(dir, 'counter.db'));
  let keys = 0;
  const states: SupervisorState[] = [];
  const sup = new PadSupervisor({
    makeTransport: () => new SerialTransport({ path: pair.hostPath }),
    // Nothing here is a real press; if one got through it would still be committed.
    onKey: async (press) => {
      keys++;
      return store.commitPress(press, () => ({ rate: false, reason: 'no_rating_open' })).outcome;
    },
  });
  sup.on('state', (s) => states.push(s));
  const child = spawn(
    process.execPath,
    mode
      ? ['--import', 'tsx', BAD_PAD, mode, pair.padPath, String(DURATION_MS)]
      : ['-e', `console.log('ready'); setTimeout(() => console.log('{"written":0}'), ${DURATION_MS})`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const check = () => (out.startsWith('ready\n') ? resolve() : undefined);
    child.stdout.on('data', check);
    child.once('exit', (code) => reject(new Error(`bad pad exited ${code} before ready: ${err}`)));
  });
  if (mode) sup.start();

  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  // The same measure without our own commits: a FULL-sync commit blocks the loop for its fsync
  // (0.5 s was seen here while other suites wrote to the disk), which is the disk's doing, not
  // the pad's. A 5 ms timer's lateness, minus the commit time spent since its last run.
  const lateness: number[] = [];
  let commitSinceTick = 0;
  let lastTick = performance.now();
  let sampling = true;
  const tick = () => {
    const now = performance.now();
    lateness.push(Math.max(0, now - lastTick - 5 - commitSinceTick));
    commitSinceTick = 0;
    lastTick = now;
    if (sampling) setTimeout(tick, 5);
  };
  setTimeout(tick, 5);
  let screenRatings = 0;
  let slowestCommitMs = 0;
  const started = performance.now();
  try {
    // A citizen rating on the screen every 20 ms, committed (FULL sync) while the line is bad.
    while (performance.now() - started < DURATION_MS) {
      await new Promise((r) => setTimeout(r, 20));
      const t = performance.now();
      store.commitRating(plainGiven(5, 'flood-1'), ratingContext(`SCREEN-${screenRatings}`, null));
      const took = performance.now() - t;
      commitSinceTick += took;
      slowestCommitMs = Math.max(slowestCommitMs, took);
      screenRatings++;
    }
    sampling = false;
    histogram.disable();
    const code = await exited;
    if (code !== 0) throw new Error(`bad pad exited ${code}: ${err}`);
  } finally {
    histogram.disable();
    child.kill('SIGKILL');
    await sup.stop();
    await pair.close();
  }
  const stored = (
    store.db.prepare("SELECT COUNT(*) AS n FROM ratings WHERE source = 'screen'").get() as { n: number }
  ).n;
  store.close();
  expect(stored).toBe(screenRatings);
  lateness.sort((a, b) => a - b);
  return {
    p99Ms: lateness[Math.floor(lateness.length * 0.99)] ?? 0,
    maxMs: lateness[lateness.length - 1] ?? 0,
    meanMs: lateness.reduce((a, b) => a + b, 0) / Math.max(1, lateness.length),
    histP99Ms: histogram.percentile(99) / 1e6,
    histMaxMs: histogram.max / 1e6,
    screenRatings,
    slowestCommitMs,
    written: (JSON.parse(out.trim().split('\n').at(-1) ?? '{"written":0}') as { written: number }).written,
    states,
    keys,
    counters: sup.counters,
  };
}

function report(mode: string, r: Run): void {
  console.log(
    `${mode}: event loop lateness (own commits excluded) p99 ${r.p99Ms.toFixed(1)} ms, max ${r.maxMs.toFixed(1)} ms, ` +
      `mean ${r.meanMs.toFixed(1)} ms; monitorEventLoopDelay p99 ${r.histP99Ms.toFixed(1)} ms, max ${r.histMaxMs.toFixed(1)} ms; ` +
      `${r.screenRatings} screen ratings, slowest commit ${r.slowestCommitMs.toFixed(1)} ms; ` +
      `bad pad wrote ${r.written} bytes; states ${r.states.join('>')}; host ${JSON.stringify(r.counters)}`,
  );
}

/**
 * Other suites share the two cores (load average above 10 was seen), so the idle loop alone can
 * be late by 100 ms and more. So the pad's own cost is what is bounded: p99 at most 100 ms and
 * max at most 250 ms above the baseline measured just before (the same rating loop, no pad). A
 * framer that chewed a 1 MB/s flood in one block, or a link that busy-looped on garbage, would
 * add far more. Commit latency is the disk's (reported, not asserted); that every commit
 * succeeded at the rate asked is asserted.
 */
function expectResponsive(r: Run, before: Run, after: Run): void {
  // Load changes within seconds: the worse of the baselines just before and just after.
  expect(r.p99Ms).toBeLessThan(Math.max(before.p99Ms, after.p99Ms) + 100);
  expect(r.maxMs).toBeLessThan(Math.max(before.maxMs, after.maxMs) + 250);
  // A rating every 20 ms for 5 s: the store never stopped taking them.
  expect(r.screenRatings).toBeGreaterThan(Math.min(before.screenRatings, after.screenRatings) * 0.6);
}

async function baseline(dir: string): Promise<Run> {
  const b = await underBadPad(dir, null);
  report('baseline (no pad)', b);
  return b;
}

describe('the counter stays responsive with a misbehaving pad on a real pty', () => {
  const root = mkdtempSync(join(tmpdir(), 'haocha-flood-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('1 MB/s of noise for 5 s', async () => {
    const before = await baseline(join(root, 'flood-before'));
    const r = await underBadPad(join(root, 'flood'), 'flood');
    report('flood', r);
    const after = await baseline(join(root, 'flood-after'));
    expectResponsive(r, before, after);
    // The flood really went through the framer: megabytes read and thrown away, nothing invented.
    // (Less than was written: while the link is closed between attempts, and no EVP/1 device
    // answers here, the pty drops what arrives, and every open flushes the port.)
    expect(r.written).toBeGreaterThan(4 * MB);
    expect(r.counters.droppedBytes).toBeGreaterThan(1 * MB);
    expect(r.states).not.toContain('up');
    expect(r.keys).toBe(0);
  }, 60_000);

  it('a pad that answers nothing', async () => {
    const before = await baseline(join(root, 'silent-before'));
    const r = await underBadPad(join(root, 'silent'), 'silent');
    report('silent', r);
    const after = await baseline(join(root, 'silent-after'));
    expectResponsive(r, before, after);
    expect(r.states).not.toContain('up');
    expect(r.keys).toBe(0);
  }, 60_000);

  it('a pad that answers everything with garbage frames', async () => {
    const before = await baseline(join(root, 'garbage-before'));
    const r = await underBadPad(join(root, 'garbage'), 'garbage');
    report('garbage', r);
    const after = await baseline(join(root, 'garbage-after'));
    expectResponsive(r, before, after);
    expect(r.written).toBeGreaterThan(10_000);
    // Garbage with a good CRC reached the link (and was NAKed), but no HELLO, so never up.
    expect(r.counters.frames).toBeGreaterThan(100);
    expect(r.states).not.toContain('up');
  }, 60_000);
});
