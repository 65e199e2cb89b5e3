/**
 * A real Counter and store behind attachPad (now a PadSupervisor), a simulated pad on the
 * in-memory line: a stuck key's presses are recorded as `stuck_key` non-ratings (status 1),
 * rated presses keep their status when re-sent, and an unplug is reconnected.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PadSimulator } from '../../drivers/sim/pad-simulator.ts';
import { createMemoryPair, type MemoryTransport } from '../../drivers/transports/memory.ts';
import { defaultCounterConfig } from '../../src-main/core/config.ts';
import { Counter } from '../../src-main/core/counter.ts';
import { attachPad, type PadAttachment } from '../../src-main/core/pad.ts';

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

let dir: string;
let counter: Counter;
let pad: PadAttachment;
let sim: PadSimulator;
let hostEnd: MemoryTransport;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-pad-e2e-'));
  counter = new Counter({
    dataDir: dir,
    hubUrl: 'http://127.0.0.1:9',
    config: defaultCounterConfig(),
    fetchImpl: async () => {
      throw new Error('offline');
    },
  });
  counter.start();
  let padEnd: MemoryTransport;
  [hostEnd, padEnd] = createMemoryPair();
  sim = new PadSimulator({ transport: padEnd, seed: 17 });
  await sim.start();
  pad = attachPad(counter, 'memory:test', () => hostEnd);
  await waitFor(() => counter.status().pad.link === 'up', 3000, 'pad up');
});

afterEach(async () => {
  await pad.close();
  await sim.stop();
  await counter.close();
  rmSync(dir, { recursive: true, force: true });
});

const presses = () =>
  counter.store.db
    .prepare('SELECT press_id, key, outcome, reason FROM pad_presses ORDER BY press_id')
    .all() as {
    press_id: number;
    key: number;
    outcome: number;
    reason: string;
  }[];

describe('attachPad with the supervisor', () => {
  it('FAULT 1 (key stuck): a press while a rating is open is recorded as stuck_key, status 1, no rating', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      await sim.fault(1, 'key 2 stuck');
      counter.openRating(null);
      const r = await sim.press(2);
      expect(r.status).toBe(1);
      expect(presses()).toEqual([{ press_id: r.pressId, key: 2, outcome: 1, reason: 'stuck_key' }]);
      expect(counter.status().session.state).toBe('rating_open'); // the rating is still open
      expect(pad.supervisor.alarm).toMatchObject({ source: 'fault' });
      await new Promise((res) => setTimeout(res, 10));
      expect(warnings.some((w) => w.includes('stuck key'))).toBe(true);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('after the alarm is released (2 s quiet), the next press is a rating', async () => {
    await sim.fault(1, '');
    await new Promise((res) => setTimeout(res, 2100));
    expect(pad.supervisor.alarm).toBeNull();
    counter.openRating(null);
    const r = await sim.press(1);
    expect(r.status).toBe(0);
    expect(presses().at(-1)).toMatchObject({ outcome: 0, reason: 'rating' });
  }, 10_000);

  it('unplug: the supervisor reconnects and the status shows the link up again', async () => {
    hostEnd.disconnect();
    await waitFor(() => counter.status().pad.link === 'up', 3000, 'pad up again');
    expect(pad.supervisor.counters.reconnects).toBe(1);
    counter.openRating(null);
    expect((await sim.press(3)).status).toBe(0);
  });
});
