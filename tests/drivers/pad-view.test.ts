/**
 * The supervisor's counters and alarm reach the counter's PadView (what `haocha status` and the
 * staff screen read): pad serial from HELLO, retransmits, reconnects, alarm kind/key/since.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PadSimulator } from '../../drivers/sim/pad-simulator.ts';
import { createMemoryPair, type MemoryTransport } from '../../drivers/transports/memory.ts';
import { defaultCounterConfig } from '../../src-main/core/config.ts';
import { Counter } from '../../src-main/core/counter.ts';
import { alarmView, attachPad, type PadAttachment } from '../../src-main/core/pad.ts';
import { padViewSchema } from '../../src-shared/calls.ts';

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let dir: string;
let counter: Counter;
let pad: PadAttachment;
let sim: PadSimulator;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-padview-'));
  counter = new Counter({
    dataDir: dir,
    hubUrl: 'http://127.0.0.1:9',
    config: defaultCounterConfig(),
    fetchImpl: async () => {
      throw new Error('offline');
    },
  });
  counter.start();
  const [hostEnd, padEnd]: [MemoryTransport, MemoryTransport] = createMemoryPair();
  sim = new PadSimulator({ transport: padEnd, seed: 5, serial: 'PAD-0042' });
  await sim.start();
  pad = attachPad(counter, 'memory:test', () => hostEnd);
  await until(() => counter.status().pad.link === 'up', 3000, 'pad up');
});

afterEach(async () => {
  await pad.close();
  await sim.stop();
  await counter.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('PadView from the supervisor', () => {
  it('carries the HELLO serial, the counters and a valid shape', () => {
    const view = counter.status().pad;
    expect(padViewSchema.parse(view)).toEqual(view);
    expect(view).toMatchObject({ serial: 'PAD-0042', retransmits: 0, reconnects: 0, alarm: null });
  });

  it('shows a FAULT alarm at once, with its start time, and clears it', async () => {
    const before = Date.now();
    await sim.fault(1, 'key stuck');
    await until(() => counter.status().pad.alarm !== null, 2000, 'alarm in the view');
    const alarm = counter.status().pad.alarm;
    expect(alarm?.kind).toBe('fault');
    expect(alarm?.key).toBeUndefined();
    expect(Date.parse(alarm?.since ?? '')).toBeGreaterThanOrEqual(before - 5);
    await until(() => counter.status().pad.alarm === null, 4000, 'alarm released');
  });
});

describe('alarmView', () => {
  it('maps a repeat alarm to stuck_key with its key, a FAULT to fault', () => {
    const base = { sinceMs: Date.UTC(2026, 0, 2, 3, 4, 5), lastMs: 0, detail: '' };
    expect(alarmView(null)).toBeNull();
    expect(alarmView({ ...base, key: 3, source: 'repeat' })).toEqual({
      kind: 'stuck_key',
      key: 3,
      since: '2026-01-02T03:04:05.000Z',
    });
    expect(alarmView({ ...base, key: null, source: 'fault' })).toEqual({
      kind: 'fault',
      since: '2026-01-02T03:04:05.000Z',
    });
  });
});
