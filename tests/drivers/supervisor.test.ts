/** PadSupervisor over the in-memory line with fake timers: reconnects, backoff, stuck keys, counters. */

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Key, KeyStatusCode } from '../../drivers/evp1/frames.ts';
import type { KeyPress } from '../../drivers/evp1/host-link.ts';
import { KeylinePadSimulator } from '../../drivers/sim/keyline-pad.ts';
import { PadSimulator } from '../../drivers/sim/pad-simulator.ts';
import type { StuckKeyAlarm } from '../../drivers/stuck-key.ts';
import { PadSupervisor, type SupervisorState } from '../../drivers/supervisor.ts';
import { createMemoryPair, type MemoryTransport } from '../../drivers/transports/memory.ts';

const tick = (ms: number) => vi.advanceTimersByTimeAsync(ms);

async function until<T>(p: Promise<T>, maxMs = 30_000): Promise<T> {
  let done = false;
  const watched = p.finally(() => {
    done = true;
  });
  for (let t = 0; t < maxMs && !done; t += 20) await tick(20);
  return watched;
}

async function waitState(sup: PadSupervisor, state: SupervisorState, maxMs = 30_000): Promise<number> {
  const t0 = Date.now();
  for (let t = 0; t < maxMs && sup.state !== state; t += 10) await tick(10);
  expect(sup.state).toBe(state);
  return Date.now() - t0;
}

let hostEnd: MemoryTransport;
let padEnd: MemoryTransport;
let sim: PadSimulator;
let sup: PadSupervisor;
let rated: KeyPress[];
let suppressed: KeyPress[];
let opens: number[];
let states: string[];
let alarms: string[];

function setup(extra: Partial<ConstructorParameters<typeof PadSupervisor>[0]> = {}): void {
  [hostEnd, padEnd] = createMemoryPair();
  sim = new PadSimulator({ transport: padEnd, seed: 5 });
  rated = [];
  suppressed = [];
  opens = [];
  states = [];
  alarms = [];
  sup = new PadSupervisor({
    makeTransport: () => {
      opens.push(Date.now());
      return hostEnd;
    },
    onKey: async (p): Promise<KeyStatusCode> => {
      rated.push(p);
      return 0;
    },
    onSuppressedKey: async (p) => {
      suppressed.push(p);
      return 1;
    },
    ...extra,
  });
  sup.on('state', (s) => states.push(s));
  const fmt = (a: StuckKeyAlarm) => `${a.source}:${a.key ?? '*'}`;
  sup.on('alarm', (a) => alarms.push(`raised ${fmt(a)}`));
  sup.on('alarm-cleared', (a) => alarms.push(`cleared ${fmt(a)}`));
}

async function startBoth(): Promise<void> {
  sup.start();
  await sim.start();
  await waitState(sup, 'up');
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(async () => {
  await sup?.stop();
  await sim?.stop();
  vi.useRealTimers();
});

describe('PadSupervisor: connection', () => {
  it('comes up, passes presses to onKey and counts frames', async () => {
    setup();
    await startBoth();
    const r = await until(sim.press(2));
    expect(r.status).toBe(0);
    expect(rated.map((p) => p.key)).toEqual([2]);
    expect(sup.device?.bootId).toBe(sim.bootId);
    expect(sup.counters.frames).toBeGreaterThan(0);
    expect(sup.counters.reconnects).toBe(0);
    expect(sup.recentFrames().some((f) => f.type === 'KEY' && f.dir === 'rx')).toBe(true);
  });

  it('unplug (transport closes): reconnects after 100 ms and presses work again', async () => {
    setup();
    await startBoth();
    hostEnd.disconnect();
    expect(sup.state).toBe('down');
    const ms = await waitState(sup, 'up');
    expect(ms).toBeLessThan(1000);
    expect(opens).toHaveLength(2);
    expect((opens[1] ?? 0) - (opens[0] ?? 0)).toBeGreaterThanOrEqual(100);
    expect(sup.counters.reconnects).toBe(1);
    const r = await until(sim.press(4));
    expect(r.status).toBe(0);
    expect(rated.map((p) => p.key)).toEqual([4]);
  });

  it('silent unplug (line goes dead, port stays open): 3 missed PINGs ⇒ down ⇒ reopened; up again when the line returns', async () => {
    setup();
    await startBoth();
    const dead = (): Uint8Array[] => [];
    hostEnd.tap = dead;
    padEnd.tap = dead;
    await waitState(sup, 'down', 20_000);
    expect(sup.link).toBeNull();
    await tick(150);
    expect(opens.length).toBeGreaterThanOrEqual(2); // the supervisor reopened the port
    hostEnd.tap = null;
    padEnd.tap = null;
    await waitState(sup, 'up', 20_000);
    const r = await until(sim.press(1));
    expect(r.status).toBe(0);
  });

  it('a port that cannot be opened: retried forever with backoff 100 ms doubling to 5 s', async () => {
    setup();
    hostEnd.failOpen = new Error('ENOENT');
    sup.start();
    await tick(60_000);
    const gaps = opens.slice(1).map((t, i) => t - (opens[i] ?? 0));
    expect(gaps.slice(0, 7)).toEqual([100, 200, 400, 800, 1600, 3200, 5000]);
    expect(gaps.slice(7).every((g) => g === 5000)).toBe(true);
    expect(sup.state).toBe('down');
    // The pad appears: the next attempt connects, and the backoff starts over.
    hostEnd.failOpen = null;
    await sim.start();
    await waitState(sup, 'up', 6000);
    hostEnd.disconnect();
    const before = opens.length;
    await tick(100);
    expect(opens.length).toBe(before + 1);
  });

  it('counters add up over connections; the frame ring keeps the last 200 across them', async () => {
    setup();
    await startBoth();
    for (let i = 0; i < 3; i++) await until(sim.press(1));
    const framesBefore = sup.counters.frames;
    hostEnd.disconnect();
    await waitState(sup, 'up');
    expect(sup.counters.frames).toBeGreaterThan(framesBefore);
    for (let i = 0; i < 110; i++) {
      // far apart, so the stuck-key rule stays out of it
      await until(sim.press(((i % 5) + 1) as Key));
      await tick(1100);
    }
    const ring = sup.recentFrames();
    expect(ring).toHaveLength(200);
    expect(ring.at(-1)?.atMs).toBeGreaterThan(ring[0]?.atMs ?? 0);
  });

  it('stop(): state stopped, no further reconnect', async () => {
    setup();
    await startBoth();
    await sup.stop();
    expect(sup.state).toBe('stopped');
    const n = opens.length;
    await tick(20_000);
    expect(opens.length).toBe(n);
  });
});

describe('PadSupervisor: stuck keys', () => {
  it('one key repeating for 3 s: alarm, its presses answered 1 (suppressed), other keys still rated; released after 2 s quiet', async () => {
    setup();
    await startBoth();
    const statuses: number[] = [];
    for (let t = 0; t <= 4000; t += 250) {
      statuses.push((await until(sim.press(3))).status);
      await tick(250 - 0);
    }
    expect(alarms).toEqual(['raised repeat:3']);
    expect(suppressed.length).toBeGreaterThan(0);
    expect(suppressed.every((p) => p.key === 3)).toBe(true);
    expect(statuses.at(-1)).toBe(1);
    // a different key is still a rating
    expect((await until(sim.press(1))).status).toBe(0);
    await tick(2100);
    expect(alarms).toEqual(['raised repeat:3', 'cleared repeat:3']);
    expect((await until(sim.press(3))).status).toBe(0);
    expect(sup.counters.stuckPresses).toBe(suppressed.length);
  });

  it('FAULT code 1: alarm; every press answered 1 until 2 s without press or fault', async () => {
    setup();
    await startBoth();
    await until(sim.fault(1, 'key 2 stuck'));
    await tick(10);
    expect(alarms).toEqual(['raised fault:*']);
    expect((await until(sim.press(5))).status).toBe(1);
    expect(rated).toHaveLength(0);
    await tick(2100);
    expect(alarms).toEqual(['raised fault:*', 'cleared fault:*']);
    expect((await until(sim.press(5))).status).toBe(0);
  });

  it('other FAULT codes raise no alarm', async () => {
    setup();
    await startBoth();
    const faults: number[] = [];
    sup.on('fault', (f) => faults.push(f.code));
    await until(sim.fault(2, 'voice'));
    await tick(10);
    expect(faults).toEqual([2]);
    expect(alarms).toEqual([]);
  });

  it('a pad power cycle releases the alarm', async () => {
    setup();
    await startBoth();
    await until(sim.fault(1, ''));
    await tick(10);
    await sim.powerCycle();
    await tick(500);
    expect(alarms).toEqual(['raised fault:*', 'cleared fault:*']);
  });

  it('without onSuppressedKey, a stuck press is answered 1 and not committed', async () => {
    setup({ onSuppressedKey: undefined as never });
    await startBoth();
    await until(sim.fault(1, ''));
    await tick(10);
    expect((await until(sim.press(2))).status).toBe(1);
    expect(rated).toHaveLength(0);
  });
});

describe('PadSupervisor: KEYLINE pad', () => {
  it('presses arrive with the connection id as boot_id; an unplug gives a new, larger id; a repeating key is suppressed', async () => {
    const [host, padEnd] = createMemoryPair();
    const keyline = new KeylinePadSimulator(padEnd);
    await keyline.start();
    rated = [];
    suppressed = [];
    alarms = [];
    sup = new PadSupervisor({
      codec: 'keyline',
      makeTransport: () => host,
      onKey: async (p): Promise<KeyStatusCode> => {
        rated.push(p);
        return 0;
      },
      onSuppressedKey: async (p) => {
        suppressed.push(p);
        return 1;
      },
    });
    sup.on('alarm', (a) => alarms.push(`raised ${a.source}:${a.key}`));
    sup.start();
    await waitState(sup, 'up');
    const first = sup.bootId ?? 0;
    await keyline.press(2);
    await tick(10);
    expect(rated.map((p) => [p.bootId, p.pressId, p.key])).toEqual([[first, 1, 2]]);
    expect(sup.link).toBeNull();
    expect(sup.keylineLink?.connectionId).toBe(first);

    host.disconnect();
    expect(sup.state).toBe('down');
    await waitState(sup, 'up');
    expect(sup.bootId).toBeGreaterThan(first);
    expect(sup.counters.reconnects).toBe(1);

    for (let t = 0; t <= 4000; t += 250) {
      await keyline.press(5);
      await tick(250);
    }
    expect(alarms).toEqual(['raised repeat:5']);
    expect(suppressed.length).toBeGreaterThan(0);
    expect(sup.counters.frames).toBe(1 + 17);
    expect(sup.recentFrames().at(-1)?.type).toBe('K5');
    await keyline.stop();
  });
});
