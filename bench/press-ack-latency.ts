/**
 * Press → ACK latency over a real pty pair, against a raw SQLite commit measured in the same run
 * (issue 4). The pad simulator presses a key and waits for its ACK; on the host the real
 * PadSupervisor + HostLink commit it through the counter store (FULL sync) before ACKing. The
 * baseline is better-sqlite3 on a file beside it: WAL, synchronous=FULL, one row inserted in its
 * own transaction. The two are interleaved, one of each per round, so both see the same load.
 * Target: press p99 ≤ 2 × commit p99 + the frames' wire time at 9600 baud (KEY 18 + ACK 11 bytes,
 * 10 bits a byte: 30.2 ms; a pty has no baud rate, so the wire time is an allowance, not measured).
 * Run: node --import tsx bench/press-ack-latency.ts [rounds]
 */

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { encodeFrame, type Key } from '../drivers/evp1/frames.ts';
import { startPtyPad } from '../drivers/sim/pty-pad.ts';
import { createPtyPair } from '../drivers/sim/pty-pair.ts';
import { PadSupervisor } from '../drivers/supervisor.ts';
import { SerialTransport } from '../drivers/transports/serial.ts';
import { CounterStore, plainGiven } from '../src-main/core/store/counter-store.ts';
import type { Level } from '../src-shared/index.ts';
import { ratingContext } from '../tests/helpers/soak.ts';

const ROUNDS = Number(process.argv[2] ?? 500);
const WARMUP = 20;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number;
}

const root = mkdtempSync(join(tmpdir(), 'haocha-latency-'));
mkdirSync(join(root, 'pty'));
const pair = await createPtyPair(join(root, 'pty'));
const pad = await startPtyPad({ path: pair.padPath, seed: 99 });
const store = new CounterStore(join(root, 'counter', 'counter.db'));
let windows = 0;
const sup = new PadSupervisor({
  makeTransport: () => new SerialTransport({ path: pair.hostPath }),
  onKey: async (press) =>
    store.commitPress(press, () => {
      if (windows === 0) return { rate: false, reason: 'no_rating_open' };
      windows--;
      return {
        rate: true,
        given: plainGiven((6 - press.key) as Level, 'bench-1'),
        ctx: ratingContext(`B-${press.pressId}`, press),
      };
    }).outcome,
});

const raw = new Database(join(root, 'raw.db'));
raw.pragma('journal_mode = WAL');
raw.pragma('synchronous = FULL');
raw.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL, v INTEGER NOT NULL)');
const insert = raw.prepare('INSERT INTO t (at, v) VALUES (?, ?)');
const commitOne = raw.transaction((i: number) => insert.run(new Date().toISOString(), i));

const pressMs: number[] = [];
const commitMs: number[] = [];
let notZero = 0;
try {
  sup.start();
  while (sup.state !== 'up') await new Promise((r) => setTimeout(r, 10));
  for (let i = 0; i < ROUNDS + WARMUP; i++) {
    const t0 = performance.now();
    commitOne(i);
    const t1 = performance.now();
    windows++;
    const r = await pad.sim.press(((i % 5) + 1) as Key);
    const t2 = performance.now();
    if (r.status !== 0) notZero++;
    if (i >= WARMUP) {
      commitMs.push(t1 - t0);
      pressMs.push(t2 - t1);
    }
    // A citizen does not press twice within a few ms; keep presses apart as on a real pad.
    await new Promise((res) => setTimeout(res, 5));
  }
} finally {
  await sup.stop();
  await pad.stop();
  await pair.close();
  store.close();
  raw.close();
  rmSync(root, { recursive: true, force: true });
}

pressMs.sort((a, b) => a - b);
commitMs.sort((a, b) => a - b);
const key = encodeFrame(0, { type: 'KEY', pressId: 1, key: 1, uptimeMs: 0 }).length;
const ack = encodeFrame(0, { type: 'ACK', ackedSeq: 0, status: 0 }).length;
const wireMs = ((key + ack) * 10 * 1000) / 9600;
const target = 2 * pct(commitMs, 0.99) + wireMs;
const f = (n: number) => `${n.toFixed(2)} ms`;
console.log(
  `press → ACK over a pty, committed by the counter store (${ROUNDS} presses, ${notZero} not status 0)`,
);
console.log(
  `  press→ACK   p50 ${f(pct(pressMs, 0.5))}  p99 ${f(pct(pressMs, 0.99))}  max ${f(pressMs.at(-1) ?? 0)}`,
);
console.log(
  `  raw commit  p50 ${f(pct(commitMs, 0.5))}  p99 ${f(pct(commitMs, 0.99))}  max ${f(commitMs.at(-1) ?? 0)}`,
);
console.log(`  wire time at 9600 baud (KEY ${key} + ACK ${ack} bytes): ${f(wireMs)}`);
console.log(
  `  ratio p50 press/commit ${(pct(pressMs, 0.5) / pct(commitMs, 0.5)).toFixed(2)}×, p99 ${(pct(pressMs, 0.99) / pct(commitMs, 0.99)).toFixed(2)}×`,
);
const ok = pct(pressMs, 0.99) <= target && notZero === 0;
console.log(
  `${ok ? 'PASS' : 'FAIL'}: press p99 ${f(pct(pressMs, 0.99))} ≤ 2 × commit p99 + wire = ${f(target)}`,
);
process.exitCode = ok ? 0 : 1;
process.exit();
