/**
 * `haocha pad-sim` flags over a real socat pty pair: --keyline, --reverse-keys, --unplug-every,
 * --corrupt, each checked against the counter's end (PadSupervisor / KeylineLink).
 */

import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KeyStatusCode } from '../../../drivers/evp1/frames.ts';
import type { KeyPress } from '../../../drivers/evp1/host-link.ts';
import { KeylineLink } from '../../../drivers/keyline/keyline-link.ts';
import { type RunPadSimOptions, runPadSim } from '../../../drivers/sim/pty-pad.ts';
import { PadSupervisor } from '../../../drivers/supervisor.ts';
import { SerialTransport } from '../../../drivers/transports/serial.ts';
import { createPtyPair, type PtyPair, socatPath } from '../../helpers/pty.ts';

if (socatPath() === null)
  throw new Error('socat is not installed: run scripts/prereqs.mjs or apt-get install -y socat');

function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (cond()) resolve();
      else if (Date.now() - start > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(check, 5);
    };
    check();
  });
}

const notATty = () => Object.assign(new EventEmitter(), { isTTY: false }) as unknown as NodeJS.ReadStream;

describe('pad-sim flags over a pty pair', () => {
  let dir: string;
  let pair: PtyPair;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'haocha-flags-'));
    pair = await createPtyPair(dir);
  });

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  afterAll(async () => {
    await pair?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A supervised counter end that stores (boot_id, press_id) → status, like the real store. */
  async function counterEnd() {
    const committed = new Map<string, KeyPress>();
    const sup = new PadSupervisor({
      makeTransport: () => new SerialTransport({ path: pair.hostPath }),
      onKey: async (p): Promise<KeyStatusCode> => {
        committed.set(`${p.bootId}:${p.pressId}`, p);
        return 0;
      },
      // fast presses in these tests must not trip the stuck-key rule
      stuck: { stuckAfterMs: 60_000 },
    });
    sup.start();
    cleanups.push(() => sup.stop());
    await waitFor(() => sup.state === 'up', 5000, 'counter end up');
    return { sup, committed };
  }

  async function sim(opts: Partial<RunPadSimOptions>) {
    const lines: string[] = [];
    const run = await runPadSim({ link: pair.padPath, log: (l) => lines.push(l), stdin: notATty(), ...opts });
    cleanups.push(() => run.stop());
    return { run, lines };
  }

  it('--reverse-keys: button k arrives as key 6 - k; same seed, same buttons', async () => {
    const { run, lines } = await sim({ presses: 5, intervalMs: 10, seed: 42, reverseKeys: true });
    const { committed } = await counterEnd();
    const results = await run.done;
    expect(results.map((r) => r.key)).toEqual(results.map((r) => 6 - r.button));
    expect([...committed.values()].map((p) => p.key)).toEqual(results.map((r) => r.key));
    expect(lines.some((l) => l.includes('wired in reverse'))).toBe(true);
    await run.stop();
    const again = await sim({ presses: 5, intervalMs: 10, seed: 42, reverseKeys: true });
    expect((await again.run.done).map((r) => r.button)).toEqual(results.map((r) => r.button));
  }, 30_000);

  it('--unplug-every 2: the pad comes back with a new boot_id every 2 presses; every press committed once', async () => {
    const { run } = await sim({ presses: 6, intervalMs: 10, seed: 7, unplugEvery: 2 });
    const { committed, sup } = await counterEnd();
    const results = await run.done;
    expect(results).toHaveLength(6);
    expect(results.every((r) => r.status === 0)).toBe(true);
    const boots = new Set([...committed.values()].map((p) => p.bootId));
    expect(boots.size).toBe(3);
    expect(committed.size).toBe(6);
    expect(sup.state).toBe('up');
  }, 30_000);

  it('--corrupt 0.02: every press the pad saw ACKed is committed, none invented', async () => {
    const { run, lines } = await sim({ presses: 30, intervalMs: 0, seed: 9, corrupt: 0.02 });
    const { committed, sup } = await counterEnd();
    const results = await run.done;
    await run.stop();
    expect(results).toHaveLength(30);
    for (const r of results) {
      if (r.status === 0) expect([...committed.values()].some((p) => p.pressId === r.pressId)).toBe(true);
    }
    expect(committed.size).toBe(results.length);
    expect(lines.at(-2)).toMatch(/\d+ bytes corrupted/);
    expect(sup.counters.badCrc + sup.counters.resyncs).toBeGreaterThan(0);
  }, 60_000);

  it('--keyline: K lines reach a KeylineLink as presses', async () => {
    const presses: KeyPress[] = [];
    const link = new KeylineLink({
      transport: new SerialTransport({ path: pair.hostPath }),
      onKey: async (p) => {
        presses.push(p);
        return 0;
      },
    });
    await link.open();
    cleanups.push(() => link.close());
    const { run } = await sim({ presses: 4, intervalMs: 20, seed: 3, keyline: true });
    const results = await run.done;
    expect(results.every((r) => r.status === null)).toBe(true);
    await waitFor(() => presses.length === 4, 3000, 'four KEYLINE presses');
    expect(presses.map((p) => p.key)).toEqual(results.map((r) => r.key));
    expect(presses.map((p) => p.pressId)).toEqual([1, 2, 3, 4]);
  }, 30_000);
});
