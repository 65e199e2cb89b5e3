/** HostLink and PadSimulator talking over an in-memory line, including a lossy, noisy one. */

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { frameTypeName, type Key, type KeyStatusCode } from '../../../drivers/evp1/frames.ts';
import { HostLink, type KeyPress } from '../../../drivers/evp1/host-link.ts';
import { PadSimulator, seededRandom } from '../../../drivers/sim/pad-simulator.ts';
import { createMemoryPair, type MemoryTransport } from '../../../drivers/transports/memory.ts';
import { settle } from './wire-peer.ts';

const tick = (ms: number) => vi.advanceTimersByTimeAsync(ms);

/** Advances fake time in small steps until `p` settles (or `maxMs` passes). */
async function until<T>(p: Promise<T>, maxMs = 30_000): Promise<T> {
  let done = false;
  const watched = p.finally(() => {
    done = true;
  });
  for (let t = 0; t < maxMs && !done; t += 50) await tick(50);
  return watched;
}

/** The counter's store as far as the pad cares: (boot_id, press_id) → first outcome, forever. */
function fakeStore(statusFor: (p: KeyPress) => KeyStatusCode = () => 0) {
  const committed = new Map<string, KeyStatusCode>();
  const calls: KeyPress[] = [];
  return {
    committed,
    calls,
    onKey: async (p: KeyPress): Promise<KeyStatusCode> => {
      calls.push(p);
      const id = `${p.bootId}:${p.pressId}`;
      const prior = committed.get(id);
      if (prior !== undefined) return prior;
      const status = statusFor(p);
      committed.set(id, status);
      return status;
    },
  };
}

let hostEnd: MemoryTransport;
let padEnd: MemoryTransport;
let link: HostLink;
let sim: PadSimulator;

async function setup(onKey: (p: KeyPress) => Promise<KeyStatusCode>): Promise<void> {
  [hostEnd, padEnd] = createMemoryPair();
  sim = new PadSimulator({ transport: padEnd, seed: 7 });
  link = new HostLink({ transport: hostEnd, onKey });
  await link.open();
  await sim.start();
  await settle();
  await tick(0);
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(async () => {
  await link?.close();
  await sim?.stop().catch(() => {});
  vi.useRealTimers();
});

describe('host and simulated pad', () => {
  it('handshake: link up with the pad identity', async () => {
    const store = fakeStore();
    await setup(store.onKey);
    expect(link.state).toBe('up');
    expect(link.device?.bootId).toBe(sim.bootId);
    expect(sim.helloAcked).toBe(true);
  });

  it('20 presses: each ACKed with the handler status, each handled once', async () => {
    const store = fakeStore((p) => (p.pressId % 3 === 0 ? 1 : 0));
    await setup(store.onKey);
    const results = [];
    for (let i = 0; i < 20; i++) results.push(await sim.press(((i % 5) + 1) as Key));
    expect(results.map((r) => r.pressId)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(results.map((r) => r.status)).toEqual(results.map((r) => (r.pressId % 3 === 0 ? 1 : 0)));
    expect(store.calls).toHaveLength(20);
  });

  it('host commands reach the pad display', async () => {
    await setup(fakeStore().onKey);
    await link.showStaff({ staffNo: '001', name: '王五', window: '7' });
    await link.setMode(1);
    await link.arm(60, 'SB-2024-1');
    await link.prompt(1);
    expect(sim.display).toMatchObject({
      lastStaff: { staffNo: '001', name: '王五', window: '7' },
      lastMode: 1,
      lastArm: { seconds: 60, caseRef: 'SB-2024-1' },
      lastPrompt: 1,
    });
  });

  it('lost ACK: the pad retransmits, the host re-ACKs with the same status, handler called once', async () => {
    const store = fakeStore(() => 1);
    await setup(store.onKey);
    let dropped = 0;
    hostEnd.tap = (bytes) => {
      if (dropped === 0 && frameTypeName(bytes[4] ?? 0) === 'ACK') {
        dropped++;
        return [];
      }
      return [bytes];
    };
    const r = await until(sim.press(2));
    expect(r).toEqual({ status: 1, pressId: 1 });
    expect(dropped).toBe(1);
    expect(store.calls).toHaveLength(1);
    expect(link.counters.repeats).toBe(1);
  });

  it('slow handler (700 ms): the pad retransmits meanwhile, handler called once, one status', async () => {
    const calls: KeyPress[] = [];
    await setup(async (p) => {
      calls.push(p);
      await new Promise((r) => setTimeout(r, 700));
      return 0;
    });
    const press = sim.press(5);
    await tick(2000);
    await expect(press).resolves.toEqual({ status: 0, pressId: 1 });
    expect(calls).toHaveLength(1);
    expect(sim.counters.retransmits).toBeGreaterThanOrEqual(2);
  });

  it('host restart between commit and ACK: the press is neither lost nor doubled', async () => {
    const store = fakeStore(() => 0);
    const committedThenDie = async (p: KeyPress) => {
      const status = await store.onKey(p);
      // The counter process dies right after the commit, before its ACK leaves.
      await link.close();
      return status;
    };
    await setup(committedThenDie);
    const press = sim.press(3);
    await tick(2500);
    expect(sim.pendingPresses).toBe(1);
    expect(sim.display.errorLight).toBe(true);
    expect(store.committed.size).toBe(1);

    // The restarted counter: a new HostLink on the same line.
    link = new HostLink({ transport: hostEnd, onKey: store.onKey });
    await link.open();
    await tick(100);
    await expect(press).resolves.toEqual({ status: 0, pressId: 1 });
    expect(store.committed.size).toBe(1);
    expect(store.calls.map((c) => c.pressId)).toEqual([1, 1]);
    expect(sim.display.errorLight).toBe(false);
  });

  it('host restarted within 2 s: its first GET_INFO is a byte-identical repeat, a fresh-SEQ one gets HELLO', async () => {
    const store = fakeStore();
    // The pad first, so it sees the first host's GET_INFO (SEQ 0).
    [hostEnd, padEnd] = createMemoryPair();
    sim = new PadSimulator({ transport: padEnd, seed: 7 });
    await sim.start();
    await tick(10);
    link = new HostLink({ transport: hostEnd, onKey: store.onKey });
    await link.open();
    await tick(10);
    expect(link.state).toBe('up');
    await link.close();
    link = new HostLink({ transport: hostEnd, onKey: store.onKey });
    const sent: string[] = [];
    link.on('frame', (r) => {
      if (r.dir === 'tx') sent.push(`${r.type}#${r.hex.split(' ')[3]}`);
    });
    await link.open();
    await tick(30);
    // The pad ACKed "A5 5A 01 00 27 …" again but, as the spec says for a repeat, did not act on it.
    expect(link.state).toBe('connecting');
    // GET_INFO ACKed without a HELLO: the host asks again 60 ms later, with SEQ 1.
    await tick(60);
    expect(link.state).toBe('up');
    expect(sent.slice(0, 2)).toEqual(['GET_INFO#00', 'GET_INFO#01']);
    expect(link.device?.bootId).toBe(sim.bootId);
    await expect(until(sim.press(2))).resolves.toEqual({ status: 0, pressId: 1 });
  });

  it('pad power cycle: host sees power-cycled, press_ids restart at 1 under the new boot_id', async () => {
    const store = fakeStore();
    await setup(store.onKey);
    const cycles: unknown[] = [];
    link.on('power-cycled', (c) => cycles.push(c));
    await sim.press(1);
    await sim.press(1);
    const oldBoot = sim.bootId;
    await sim.powerCycle();
    await tick(10);
    const r = await sim.press(4);
    expect(r.pressId).toBe(1);
    expect(cycles).toEqual([{ previousBootId: oldBoot, bootId: sim.bootId }]);
    expect([...store.committed.keys()]).toEqual([`${oldBoot}:1`, `${oldBoot}:2`, `${sim.bootId}:1`]);
  });

  it('pad FAULT reaches the host as an event and is ACKed', async () => {
    await setup(fakeStore().onKey);
    const faults: unknown[] = [];
    link.on('fault', (f) => faults.push(f));
    await until(sim.fault(2, '喇叭无声'));
    expect(faults).toEqual([{ code: 2, detail: '喇叭无声' }]);
  });

  it('idle link stays up through PING/PONG for a minute', async () => {
    await setup(fakeStore().onKey);
    await tick(60_000);
    expect(link.state).toBe('up');
    expect(link.counters.pingsSent).toBeGreaterThanOrEqual(25);
  });

  it('pad goes silent: link down after 3 PINGs; pad back: link up', async () => {
    await setup(fakeStore().onKey);
    padEnd.tap = () => [];
    await tick(8100);
    expect(link.state).toBe('down');
    padEnd.tap = null;
    await tick(2100);
    expect(link.state).toBe('up');
  });

  it('noisy, lossy line in both directions: every press committed exactly once', async () => {
    const rnd = seededRandom(2024);
    const noisy = (bytes: Uint8Array): Uint8Array[] => {
      const r = rnd();
      if (r < 0.15) return []; // lost
      const out = bytes.slice();
      if (r < 0.3) {
        const i = Math.floor(rnd() * out.length);
        out[i] = (out[i] as number) ^ (1 << Math.floor(rnd() * 8)); // one flipped bit
      }
      const garbage = Uint8Array.from({ length: Math.floor(rnd() * 6) }, () =>
        rnd() < 0.5 ? 0xa5 : Math.floor(rnd() * 256),
      );
      const cut = Math.floor(rnd() * out.length);
      return [garbage, out.subarray(0, cut), out.subarray(cut)];
    };
    const store = fakeStore((p) => (p.pressId % 2) as KeyStatusCode);
    [hostEnd, padEnd] = createMemoryPair();
    hostEnd.tap = noisy;
    padEnd.tap = noisy;
    sim = new PadSimulator({ transport: padEnd, seed: 9 });
    link = new HostLink({ transport: hostEnd, onKey: store.onKey });
    await link.open();
    await sim.start();
    const results: { status: number; pressId: number }[] = [];
    for (let i = 0; i < 30; i++) {
      // Loss can exhaust 6 sends; then the pad waits for the host's next frame to say HELLO.
      results.push(await until(sim.press(((i % 5) + 1) as Key), 60_000));
    }
    expect(results.map((r) => r.pressId)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(results.map((r) => r.status)).toEqual(results.map((r) => r.pressId % 2));
    expect(store.committed.size).toBe(30);
    expect(link.counters.badCrc + sim.counters.badCrc).toBeGreaterThan(0);
  });
});
