/**
 * The counter config selects the pad: `auto` runs discovery and attaches the pad whose serial is
 * wanted (also after it moved to another path), a named profile sets the codec and the key map,
 * and `haocha pad-discover` prints the report. Real pty pairs, simulated pads.
 */

import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PortInfo } from '../../../drivers/profiles.ts';
import { KeylinePadSimulator } from '../../../drivers/sim/keyline-pad.ts';
import { type PtyPad, startPtyPad } from '../../../drivers/sim/pty-pad.ts';
import { SerialTransport } from '../../../drivers/transports/serial.ts';
import { runCounter } from '../../../src-main/cli/run-counter.ts';
import { counterConfigSchema, defaultCounterConfig } from '../../../src-main/core/config.ts';
import { Counter } from '../../../src-main/core/counter.ts';
import { attachPadAuto } from '../../../src-main/core/pad.ts';
import { padSource } from '../../../src-main/core/pad-config.ts';
import { createPtyPair, type PtyPair, socatPath } from '../../helpers/pty.ts';

if (socatPath() === null)
  throw new Error('socat is not installed: run scripts/prereqs.mjs or apt-get install -y socat');

const CH340 = { vendorId: '1a86', productId: '7523' };
const ROOT = join(import.meta.dirname, '../../..');

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let dir: string;
let pairs: PtyPair[];
let cleanups: (() => Promise<unknown>)[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-autopad-'));
  pairs = [];
  cleanups = [];
  for (const name of ['a', 'b']) {
    mkdirSync(join(dir, name));
    pairs.push(await createPtyPair(join(dir, name)));
  }
});

afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  for (const p of pairs) await p.close();
  rmSync(dir, { recursive: true, force: true });
});

const [A, B] = [0, 1];
const host = (i: number) => (pairs[i] as PtyPair).hostPath;
const padEnd = (i: number) => (pairs[i] as PtyPair).padPath;

async function pad(i: number, serial: string, seed: number): Promise<PtyPad> {
  const p = await startPtyPad({ path: padEnd(i), serial, seed });
  cleanups.push(() => p.stop());
  return p;
}

describe('pad config', () => {
  it('parses with defaults and refuses an unknown profile', () => {
    expect(defaultCounterConfig().pad).toEqual({ path: null, profile: null, serial: null });
    expect(counterConfigSchema.safeParse({ pad: { profile: 'nope' } }).success).toBe(false);
    const cfg = counterConfigSchema.parse({ pad: { path: 'auto', serial: 'X1' } }).pad;
    expect(padSource(null, cfg)).toMatchObject({ kind: 'auto', serial: 'X1', profile: null });
    expect(padSource('/dev/ttyUSB3', cfg)).toMatchObject({ kind: 'path', path: '/dev/ttyUSB3' });
    expect(padSource('none', cfg)).toEqual({ kind: 'none' });
    expect(padSource(null, defaultCounterConfig().pad)).toEqual({ kind: 'none' });
  });
});

describe('counter with pad.path auto', () => {
  it('attaches the pad with the wanted serial, not the other one', async () => {
    await pad(A, 'PAD-OTHER', 1);
    const wanted = await pad(B, 'PAD-WANTED', 2);
    const config = counterConfigSchema.parse({ pad: { path: 'auto', serial: 'PAD-WANTED' } });
    const lines: string[] = [];
    const running = await runCounter({
      dataDir: join(dir, 'counter'),
      hubUrl: 'http://127.0.0.1:9',
      config,
      pad: null,
      uiPort: null,
      log: (l) => lines.push(l),
      padDiscovery: {
        list: async (): Promise<PortInfo[]> => [
          { path: host(A), ...CH340 },
          { path: host(B), ...CH340 },
        ],
        keylineListenMs: 200,
      },
    });
    cleanups.push(() => running.close());
    await until(() => running.counter.status().pad.link === 'up', 5000, 'pad up');
    expect(running.counter.status().pad).toMatchObject({ path: host(B), serial: 'PAD-WANTED' });
    expect(lines.join('\n')).toMatch(/HELLO serial is PAD-WANTED/);
    running.counter.openRating(null);
    const r = await wanted.sim.press(2);
    expect(r.status).toBe(0);
  }, 20_000);

  it('finds the pad again after it moved to another path', async () => {
    const first = await pad(A, 'PAD-M', 3);
    let where = A;
    const counter = new Counter({
      dataDir: join(dir, 'counter'),
      hubUrl: 'http://127.0.0.1:9',
      config: defaultCounterConfig(),
      fetchImpl: async () => {
        throw new Error('offline');
      },
    });
    counter.start();
    cleanups.push(() => counter.close());
    const auto = attachPadAuto(counter, {
      serial: 'PAD-M',
      profile: null,
      retryMs: 500,
      discovery: {
        list: async (): Promise<PortInfo[]> => [{ path: host(where), ...CH340 }],
        keylineListenMs: 100,
      },
    });
    cleanups.push(() => auto.close());
    await auto.ready;
    await until(() => counter.status().pad.link === 'up', 5000, 'pad up on A');
    expect(counter.status().pad.path).toBe(host(A));
    // Unplugged and plugged in again: the OS gives it another name.
    await first.stop();
    where = B;
    await pad(B, 'PAD-M', 4);
    await until(
      () => counter.status().pad.link === 'up' && counter.status().pad.path === host(B),
      15_000,
      'pad up on B',
    );
    expect(counter.status().pad.serial).toBe('PAD-M');
  }, 30_000);
});

describe('counter with pad.path auto, no pad at first', () => {
  it('shows the pad as being searched for, says why, and attaches it once it appears', async () => {
    const counter = new Counter({
      dataDir: join(dir, 'counter'),
      hubUrl: 'http://127.0.0.1:9',
      config: defaultCounterConfig(),
      fetchImpl: async () => {
        throw new Error('offline');
      },
    });
    counter.start();
    cleanups.push(() => counter.close());
    const lines: string[] = [];
    const auto = attachPadAuto(counter, {
      serial: null,
      profile: null,
      retryMs: 300,
      log: (l) => lines.push(l),
      discovery: {
        list: async (): Promise<PortInfo[]> => [{ path: host(A), ...CH340 }],
        keylineListenMs: 100,
      },
    });
    cleanups.push(() => auto.close());
    await auto.ready;
    expect(auto.pad).toBeNull();
    expect(counter.status().pad).toMatchObject({ link: 'connecting', path: 'auto' });
    expect(lines.join('\n')).toMatch(/no_answer/);
    await pad(A, 'PAD-LATE', 6);
    await until(() => counter.status().pad.link === 'up', 10_000, 'pad up once plugged in');
    expect(counter.status().pad).toMatchObject({ path: host(A), serial: 'PAD-LATE' });
  }, 20_000);
});

describe('counter with a named profile', () => {
  it('keyline-reversed: KEYLINE codec, and key 1 is the lowest level', async () => {
    const kl = new KeylinePadSimulator(new SerialTransport({ path: padEnd(A) }));
    await kl.start();
    cleanups.push(() => kl.stop());
    const config = counterConfigSchema.parse({ pad: { path: host(A), profile: 'keyline-reversed' } });
    const running = await runCounter({
      dataDir: join(dir, 'counter'),
      hubUrl: 'http://127.0.0.1:9',
      config,
      pad: null,
      uiPort: null,
    });
    cleanups.push(() => running.close());
    await until(() => running.counter.status().pad.link === 'up', 5000, 'keyline up');
    running.counter.openRating(null);
    await kl.press(1);
    const db = running.counter.store.db;
    await until(
      () => (db.prepare('SELECT COUNT(*) AS n FROM pad_presses').get() as { n: number }).n > 0,
      5000,
      'press stored',
    );
    await until(() => running.counter.session.view().state !== 'rating_open', 5000, 'rating given');
    const row = db.prepare('SELECT level FROM ratings ORDER BY seq DESC LIMIT 1').get() as { level: number };
    expect(row.level).toBe(1);

    // Connection ids may run ahead of the clock (quick reconnects): a restart must continue after
    // the highest one stored, never reuse one. Stand-in for such a run: a press 100 connections ahead.
    const ahead = Math.floor(Date.now() / 1000) + 100;
    running.counter.store.commitPress({ bootId: ahead, pressId: 1, key: 3 }, () => ({
      rate: false,
      reason: 'stuck_key',
    }));
    await running.close();
    const again = await runCounter({
      dataDir: join(dir, 'counter'),
      hubUrl: 'http://127.0.0.1:9',
      config,
      pad: null,
      uiPort: null,
    });
    cleanups.push(() => again.close());
    await until(() => again.counter.status().pad.link === 'up', 5000, 'keyline up again');
    await kl.press(4);
    const ids = () =>
      (
        again.counter.store.db.prepare('SELECT pad_boot_id AS b FROM pad_presses ORDER BY b').all() as {
          b: number;
        }[]
      ).map((r) => r.b);
    await until(() => ids().length === 3, 5000, 'second press stored');
    expect(Math.max(...ids())).toBe(ahead + 1);
  }, 20_000);
});

describe('haocha pad-discover', () => {
  it('prints the report as JSON and as text, exit 0 with a pad and 1 without', async () => {
    await pad(A, 'PAD-CLI', 5);
    // Asynchronous: the simulated pad answers from this process's event loop.
    const cli = (...args: string[]) =>
      new Promise<{ status: number | null; stdout: string }>((resolve) => {
        execFile(
          process.execPath,
          [join(ROOT, 'bin/haocha.mjs'), 'pad-discover', ...args],
          { encoding: 'utf8', timeout: 20_000 },
          (err, stdout) => resolve({ status: err ? ((err.code as number | undefined) ?? null) : 0, stdout }),
        );
      });
    const json = await cli('--port', host(A), '--port', host(B), '--listen-ms', '200', '--json');
    expect(json.status).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.chosen).toMatchObject({ path: host(A), padSerial: 'PAD-CLI', codec: 'evp1' });
    expect(report.rejected).toEqual([expect.objectContaining({ path: host(B), reason: 'no_answer' })]);
    const text = await cli('--port', host(B), '--listen-ms', '200');
    expect(text.status).toBe(1);
    expect(text.stdout).toMatch(/no_answer/);
    expect(text.stdout).toMatch(/chosen: none/);
    expect((await cli('--profile', 'bogus')).status).toBe(2);
  }, 60_000);
});
