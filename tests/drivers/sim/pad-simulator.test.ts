import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildFrame, encodeFrame, fromHex, type Key } from '../../../drivers/evp1/frames.ts';
import type { PressResult } from '../../../drivers/sim/pad-simulator.ts';
import { PadSimulator } from '../../../drivers/sim/pad-simulator.ts';
import { createMemoryPair } from '../../../drivers/transports/memory.ts';
import { settle, WirePeer } from '../evp1/wire-peer.ts';

const tick = (ms: number) => vi.advanceTimersByTimeAsync(ms);

let sim: PadSimulator;
let host: WirePeer;

/** A simulator on one end and a hand-driven host on the other. */
async function setup(): Promise<void> {
  const [hostEnd, padEnd] = createMemoryPair(['memory:host', 'memory:pad']);
  await hostEnd.open();
  host = new WirePeer(hostEnd);
  sim = new PadSimulator({ transport: padEnd, seed: 42, model: 'M1', firmware: 'F1', serial: 'S1' });
  await sim.start();
  await settle();
}

async function ackLast(type: string, status = 0, hostSeq = 0): Promise<number> {
  const f = host.seen.filter((x) => x.type === type).at(-1);
  if (!f) throw new Error(`no ${type} seen`);
  await host.send(hostSeq, { type: 'ACK', ackedSeq: f.seq, status });
  await settle();
  return f.seq;
}

/** A press, and whether its promise has settled yet (a held press has not). */
function trackedPress(key: Key): { p: Promise<PressResult>; settled: () => boolean } {
  let done = false;
  const p = sim.press(key).finally(() => {
    done = true;
  });
  return { p, settled: () => done };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(async () => {
  await sim?.stop();
  vi.useRealTimers();
});

describe('PadSimulator: power-up', () => {
  it('sends HELLO unprompted with SEQ 0 and its identity', async () => {
    await setup();
    expect(host.seen).toHaveLength(1);
    expect(host.seen[0]).toMatchObject({
      seq: 0,
      msg: { type: 'HELLO', proto: 1, bootId: sim.bootId, model: 'M1', firmware: 'F1', serial: 'S1' },
    });
  });

  it('holds KEYs until that HELLO is ACKed', async () => {
    await setup();
    const press = sim.press(2);
    await tick(100);
    expect(host.ofType('KEY')).toEqual([]);
    await ackLast('HELLO');
    expect(host.ofType('KEY').map((f) => f.msg)).toMatchObject([{ type: 'KEY', pressId: 1, key: 2 }]);
    await ackLast('KEY', 0, 1);
    await expect(press).resolves.toEqual({ status: 0, pressId: 1 });
  });

  it('boot ids are reproducible from a seed and differ between seeds', () => {
    const [, a] = createMemoryPair();
    const [, b] = createMemoryPair();
    const [, c] = createMemoryPair();
    expect(new PadSimulator({ transport: a, seed: 1 }).bootId).toBe(
      new PadSimulator({ transport: b, seed: 1 }).bootId,
    );
    expect(new PadSimulator({ transport: c, seed: 2 }).bootId).not.toBe(
      new PadSimulator({ transport: a, seed: 1 }).bootId,
    );
  });
});

describe('PadSimulator: answers', () => {
  it('GET_INFO ⇒ ACK, then HELLO', async () => {
    await setup();
    await ackLast('HELLO');
    host.clear();
    await host.send(1, { type: 'GET_INFO' });
    await settle();
    expect(host.seen.map((f) => f.type)).toEqual(['ACK', 'HELLO']);
    expect(host.seen[0]?.msg).toEqual({ type: 'ACK', ackedSeq: 1, status: 0 });
  });

  it('PING ⇒ ACK, then PONG with the nonce', async () => {
    await setup();
    await ackLast('HELLO');
    host.clear();
    await host.send(1, { type: 'PING', nonce: 0xcafe });
    await settle();
    expect(host.seen.map((f) => f.msg)).toEqual([
      { type: 'ACK', ackedSeq: 1, status: 0 },
      { type: 'PONG', nonce: 0xcafe },
    ]);
  });

  it('ACKs host frames and records the last ARM / PROMPT / SET_MODE / SHOW_STAFF / SHOW_TEXT', async () => {
    await setup();
    await ackLast('HELLO');
    await host.send(1, { type: 'ARM', seconds: 30, caseRef: 'C1' });
    await host.send(2, { type: 'PROMPT', prompt: 1 });
    await host.send(3, { type: 'SET_MODE', mode: 1 });
    await host.send(4, { type: 'SHOW_STAFF', staffNo: '12', name: '李四', window: '5' });
    await host.send(5, { type: 'SHOW_TEXT', line: 0, encoding: 'gbk', text: '欢迎光临' });
    await host.send(6, { type: 'ARM', seconds: 0, caseRef: '' });
    await settle();
    expect(host.ofType('ACK').map((f) => f.msg.ackedSeq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(sim.display).toMatchObject({
      lastArm: { seconds: 0, caseRef: '' },
      lastPrompt: 1,
      lastMode: 1,
      lastStaff: { staffNo: '12', name: '李四', window: '5' },
      text: { 0: '欢迎光临' },
      disarmed: false,
    });
    await host.send(7, { type: 'DISARM' });
    await settle();
    expect(sim.display.disarmed).toBe(true);
  });

  it('a byte-identical host frame within 2 s is re-ACKed, not applied twice', async () => {
    await setup();
    await ackLast('HELLO');
    const applied: string[] = [];
    sim.on('host-message', (m) => applied.push(m.type));
    const arm = encodeFrame(1, { type: 'ARM', seconds: 30, caseRef: '' });
    await host.sendRaw(arm);
    await tick(300);
    await host.sendRaw(arm);
    await settle();
    expect(applied).toEqual(['ARM']);
    expect(host.ofType('ACK').map((f) => f.msg.ackedSeq)).toEqual([1, 1]);
  });

  it('unknown type ⇒ NAK 2; device-only type from the host ⇒ NAK 2; bad payload ⇒ NAK 4', async () => {
    await setup();
    await ackLast('HELLO');
    host.clear();
    await host.sendRaw(buildFrame(1, 0x44, new Uint8Array(0)));
    await host.send(2, { type: 'KEY', pressId: 1, key: 1, uptimeMs: 0 });
    await host.sendRaw(buildFrame(3, 0x23, fromHex('09')));
    await settle();
    expect(host.seen.map((f) => f.msg)).toEqual([
      { type: 'NAK', seq: 1, reason: 2 },
      { type: 'NAK', seq: 2, reason: 2 },
      { type: 'NAK', seq: 3, reason: 4 },
    ]);
  });
});

describe('PadSimulator: presses', () => {
  it('press_ids count up from 1; status comes from the ACK', async () => {
    await setup();
    await ackLast('HELLO');
    const results: Promise<PressResult>[] = [];
    for (const [i, key] of ([1, 5, 3] as const).entries()) {
      results.push(sim.press(key));
      await settle();
      await ackLast('KEY', i === 1 ? 1 : 0, 10 + i);
    }
    expect(await Promise.all(results)).toEqual([
      { status: 0, pressId: 1 },
      { status: 1, pressId: 2 },
      { status: 0, pressId: 3 },
    ]);
    expect(host.ofType('KEY').map((f) => [f.msg.pressId, f.msg.key])).toEqual([
      [1, 1],
      [2, 5],
      [3, 3],
    ]);
  });

  it('status 2 lights the error light', async () => {
    await setup();
    await ackLast('HELLO');
    const p = sim.press(1);
    await settle();
    await ackLast('KEY', 2, 1);
    await expect(p).resolves.toEqual({ status: 2, pressId: 1 });
    expect(sim.display.errorLight).toBe(true);
  });

  it('retransmits a KEY with the same SEQ every 300 ms, 6 sends in all', async () => {
    await setup();
    await ackLast('HELLO');
    sim.press(4).catch(() => {}); // rejected by stop() in afterEach
    await tick(2000);
    const keys = host.ofType('KEY');
    expect(keys).toHaveLength(6);
    expect(new Set(keys.map((k) => k.seq)).size).toBe(1);
    expect(sim.counters.retransmits).toBe(5);
  });

  it('a press unanswered after 6 sends is held (error light) and re-sent, same press_id, fresh SEQ, after the next HELLO ACK', async () => {
    await setup();
    await ackLast('HELLO');
    const { p, settled } = trackedPress(4);
    await tick(2000);
    expect(settled()).toBe(false);
    expect(sim.display.errorLight).toBe(true);
    expect(sim.pendingPresses).toBe(1);
    const firstSeq = host.ofType('KEY')[0]?.seq;
    // A restarted host says GET_INFO; the pad answers ACK, HELLO, and once that HELLO is ACKed
    // it re-sends the held press.
    host.clear();
    await host.send(0, { type: 'GET_INFO' });
    await settle();
    expect(host.seen.map((f) => f.type)).toEqual(['ACK', 'HELLO']);
    expect(host.ofType('KEY')).toEqual([]);
    await ackLast('HELLO', 0, 1);
    const resent = host.ofType('KEY');
    expect(resent.map((f) => f.msg)).toMatchObject([{ pressId: 1, key: 4 }]);
    expect(resent[0]?.seq).not.toBe(firstSeq);
    await ackLast('KEY', 0, 2);
    await expect(p).resolves.toEqual({ status: 0, pressId: 1 });
    expect(sim.display.errorLight).toBe(false);
  });

  it('after a failure, any host frame (a PING) makes the pad say HELLO again', async () => {
    await setup();
    await ackLast('HELLO');
    sim.press(4).catch(() => {}); // rejected by stop() in afterEach
    await tick(2000);
    host.clear();
    await host.send(5, { type: 'PING', nonce: 1 });
    await settle();
    expect(host.seen.map((f) => f.type)).toEqual(['HELLO', 'ACK', 'PONG']);
  });

  it('a late ACK for a failed press still settles it', async () => {
    await setup();
    await ackLast('HELLO');
    const p = sim.press(3);
    await tick(2500);
    await ackLast('KEY', 1, 1);
    await expect(p).resolves.toEqual({ status: 1, pressId: 1 });
  });

  it('a NAK for a KEY (a damaged copy that passed the CRC) does not give the press up: it is re-sent', async () => {
    await setup();
    await ackLast('HELLO');
    const { p, settled } = trackedPress(2);
    await settle();
    const seq = host.ofType('KEY')[0]?.seq ?? -1;
    // What a host answers to a copy whose TYPE (2) or payload (4) the line changed.
    await host.send(1, { type: 'NAK', seq, reason: 2 });
    await host.send(2, { type: 'NAK', seq, reason: 4 });
    await settle();
    expect(settled()).toBe(false);
    expect(sim.counters.keyNaksKept).toBe(2);
    await tick(300);
    const keys = host.ofType('KEY');
    expect(keys).toHaveLength(2);
    expect(keys.map((k) => k.seq)).toEqual([seq, seq]);
    await ackLast('KEY', 0, 3);
    await expect(p).resolves.toEqual({ status: 0, pressId: 1 });
  });

  it('a KEY NAKed on every send is held like an unanswered one, not lost', async () => {
    await setup();
    await ackLast('HELLO');
    const { p, settled } = trackedPress(5);
    for (let i = 0; i < 6; i++) {
      await settle();
      await host.send(1 + i, { type: 'NAK', seq: host.ofType('KEY').at(-1)?.seq ?? -1, reason: 4 });
      await tick(300);
    }
    await tick(300);
    expect(host.ofType('KEY')).toHaveLength(6);
    expect(settled()).toBe(false);
    expect(sim.pendingPresses).toBe(1);
    expect(sim.display.errorLight).toBe(true);
    host.clear();
    await host.send(10, { type: 'GET_INFO' });
    await settle();
    await ackLast('HELLO', 0, 11);
    expect(host.ofType('KEY').map((f) => f.msg)).toMatchObject([{ pressId: 1, key: 5 }]);
    await ackLast('KEY', 0, 12);
    await expect(p).resolves.toEqual({ status: 0, pressId: 1 });
  });

  it('powerCycle(): new boot_id, SEQ 0 HELLO, press_ids restart at 1, pending presses lost', async () => {
    await setup();
    await ackLast('HELLO');
    const oldBoot = sim.bootId;
    const lost = sim.press(1);
    const lostRejected = expect(lost).rejects.toMatchObject({ code: 'LINK_CLOSED' });
    await settle();
    host.clear();
    await sim.powerCycle();
    await lostRejected;
    await settle();
    expect(sim.bootId).not.toBe(oldBoot);
    expect(host.seen[0]).toMatchObject({ seq: 0, msg: { type: 'HELLO', bootId: sim.bootId } });
    await ackLast('HELLO', 0, 1);
    const p = sim.press(2);
    await settle();
    expect(host.ofType('KEY').at(-1)?.msg).toMatchObject({ pressId: 1, key: 2 });
    await ackLast('KEY', 0, 2);
    await expect(p).resolves.toEqual({ status: 0, pressId: 1 });
  });

  it('rejects keys outside 1..5', async () => {
    await setup();
    // biome-ignore lint/suspicious/noExplicitAny: deliberately wrong key
    await expect(sim.press(6 as any)).rejects.toThrow(RangeError);
  });

  it('stop() clears every timer', async () => {
    await setup();
    const p = sim.press(1);
    const rejected = expect(p).rejects.toMatchObject({ code: 'LINK_CLOSED' });
    await sim.stop();
    await rejected;
    expect(vi.getTimerCount()).toBe(0);
  });
});
