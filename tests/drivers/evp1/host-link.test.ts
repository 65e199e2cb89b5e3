import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildFrame, encodeFrame, fromHex, type KeyStatusCode } from '../../../drivers/evp1/frames.ts';
import { HostLink, type HostLinkOptions, type KeyPress } from '../../../drivers/evp1/host-link.ts';
import { MAX_QUEUED_UNRELIABLE } from '../../../drivers/evp1/link-core.ts';
import { HELLO, settle, type WirePeer, wirePair } from './wire-peer.ts';

const tick = (ms: number) => vi.advanceTimersByTimeAsync(ms);

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

let link: HostLink;
let peer: WirePeer;
let calls: KeyPress[];

async function setup(onKey?: HostLinkOptions['onKey'], extra: Partial<HostLinkOptions> = {}): Promise<void> {
  const pair = await wirePair();
  peer = pair.peer;
  calls = [];
  link = new HostLink({
    transport: pair.host,
    onKey:
      onKey ??
      (async (p) => {
        calls.push(p);
        return 0;
      }),
    ...extra,
  });
  await link.open();
  await settle();
}

/** Opens the link and answers its GET_INFO like a pad: ACK then HELLO (pad SEQ 0 and 1). */
async function handshake(hello = HELLO): Promise<void> {
  const getInfo = peer.ofType('GET_INFO')[0];
  if (!getInfo) throw new Error('no GET_INFO');
  await peer.send(0, { type: 'ACK', ackedSeq: getInfo.seq, status: 0 });
  await peer.send(1, hello);
  await settle();
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(async () => {
  await link?.close();
  vi.useRealTimers();
});

describe('HostLink: connect', () => {
  it('sends GET_INFO with SEQ 0 on open and is "connecting"', async () => {
    await setup();
    expect(peer.seen.map((f) => [f.type, f.seq])).toEqual([['GET_INFO', 0]]);
    expect(link.state).toBe('connecting');
  });

  it('HELLO sets device info, is ACKed, and brings the link up', async () => {
    await setup();
    const devices: unknown[] = [];
    link.on('device', (d) => devices.push(d));
    await handshake();
    expect(link.state).toBe('up');
    expect(link.device).toEqual({
      proto: 1,
      bootId: HELLO.bootId,
      model: 'TEST-PAD',
      firmware: '0.9',
      serial: 'T-001',
      caps: 1,
    });
    expect(devices).toHaveLength(1);
    expect(peer.ofType('ACK').map((f) => f.msg)).toEqual([{ type: 'ACK', ackedSeq: 1, status: 0 }]);
  });

  it('an unprompted HELLO (pad powered up) also brings the link up', async () => {
    await setup();
    await peer.send(0, HELLO);
    await settle();
    expect(link.state).toBe('up');
  });

  it('GET_INFO is retransmitted with the same SEQ until answered', async () => {
    await setup();
    await tick(300);
    await tick(300);
    expect(peer.ofType('GET_INFO').map((f) => f.seq)).toEqual([0, 0, 0]);
    await handshake();
    await tick(3000);
    expect(peer.ofType('GET_INFO')).toHaveLength(3);
  });

  it('emits no-hello when no HELLO comes within 1 s', async () => {
    await setup();
    const fn = vi.fn();
    link.on('no-hello', fn);
    await tick(1000);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('emits power-cycled when the boot_id changes', async () => {
    await setup();
    const cycles: unknown[] = [];
    link.on('power-cycled', (c) => cycles.push(c));
    await handshake();
    await peer.send(2, { ...HELLO, bootId: 42 });
    await settle();
    expect(cycles).toEqual([{ previousBootId: HELLO.bootId, bootId: 42 }]);
  });

  it('detects a power cycle across a host restart via lastBootId', async () => {
    await setup(undefined, { lastBootId: 7 });
    const cycles: unknown[] = [];
    link.on('power-cycled', (c) => cycles.push(c));
    await handshake();
    expect(cycles).toEqual([{ previousBootId: 7, bootId: HELLO.bootId }]);
  });
});

describe('HostLink: KEY and the ACK-after-commit rule', () => {
  it('ACKs a KEY only after the handler resolves, with its status', async () => {
    const pending = deferred<KeyStatusCode>();
    const seenPress: KeyPress[] = [];
    await setup(async (p) => {
      seenPress.push(p);
      return pending.promise;
    });
    await handshake();
    peer.clear();
    await peer.send(2, { type: 'KEY', pressId: 1, key: 4, uptimeMs: 1234 });
    await tick(100);
    expect(seenPress).toEqual([{ bootId: HELLO.bootId, pressId: 1, key: 4, uptimeMs: 1234 }]);
    expect(peer.ofType('ACK')).toEqual([]);
    pending.resolve(1);
    await settle();
    expect(peer.ofType('ACK').map((f) => f.msg)).toEqual([{ type: 'ACK', ackedSeq: 2, status: 1 }]);
  });

  it('handler throwing ⇒ ACK status 2', async () => {
    await setup(async () => {
      throw new Error('disk full');
    });
    await handshake();
    await peer.send(2, { type: 'KEY', pressId: 1, key: 1, uptimeMs: 0 });
    await settle();
    expect(peer.ofType('ACK').at(-1)?.msg).toEqual({ type: 'ACK', ackedSeq: 2, status: 2 });
  });

  it('handler returning a bad status ⇒ ACK status 2', async () => {
    await setup(async () => 7 as KeyStatusCode);
    await handshake();
    await peer.send(2, { type: 'KEY', pressId: 1, key: 1, uptimeMs: 0 });
    await settle();
    expect(peer.ofType('ACK').at(-1)?.msg).toEqual({ type: 'ACK', ackedSeq: 2, status: 2 });
  });

  it('a byte-identical KEY within 2 s is re-ACKed with the same status, handler not called again', async () => {
    let n = 0;
    await setup(async () => {
      n++;
      return 1;
    });
    await handshake();
    peer.clear();
    const key = encodeFrame(2, { type: 'KEY', pressId: 1, key: 2, uptimeMs: 5 });
    await peer.sendRaw(key);
    await tick(300);
    await peer.sendRaw(key);
    await tick(1500);
    await peer.sendRaw(key);
    await settle();
    expect(n).toBe(1);
    expect(peer.ofType('ACK').map((f) => f.msg)).toEqual([
      { type: 'ACK', ackedSeq: 2, status: 1 },
      { type: 'ACK', ackedSeq: 2, status: 1 },
      { type: 'ACK', ackedSeq: 2, status: 1 },
    ]);
    expect(link.counters.repeats).toBe(2);
  });

  it('a repeat while the handler is still running waits for it: one call, one status', async () => {
    const pending = deferred<KeyStatusCode>();
    let n = 0;
    await setup(async () => {
      n++;
      return pending.promise;
    });
    await handshake();
    peer.clear();
    const key = encodeFrame(2, { type: 'KEY', pressId: 1, key: 2, uptimeMs: 5 });
    await peer.sendRaw(key);
    await tick(300);
    await peer.sendRaw(key);
    await tick(300);
    await peer.sendRaw(key);
    await settle();
    expect(peer.ofType('ACK')).toEqual([]);
    pending.resolve(0);
    await settle();
    expect(n).toBe(1);
    expect(peer.ofType('ACK').map((f) => f.msg)).toEqual([{ type: 'ACK', ackedSeq: 2, status: 0 }]);
    // A retransmission that crosses that ACK still gets the same answer.
    await peer.sendRaw(key);
    await settle();
    expect(peer.ofType('ACK').map((f) => f.msg)).toEqual([
      { type: 'ACK', ackedSeq: 2, status: 0 },
      { type: 'ACK', ackedSeq: 2, status: 0 },
    ]);
    expect(n).toBe(1);
  });

  it('the same frame after more than 2 s reaches the handler again (its (boot_id, press_id) dedup)', async () => {
    await setup();
    await handshake();
    const key = encodeFrame(2, { type: 'KEY', pressId: 1, key: 2, uptimeMs: 5 });
    await peer.sendRaw(key);
    await tick(2001);
    await peer.sendRaw(key);
    await settle();
    expect(calls.map((c) => c.pressId)).toEqual([1, 1]);
  });

  it('handler calls are serialized in arrival order', async () => {
    const first = deferred<KeyStatusCode>();
    const order: number[] = [];
    await setup(async (p) => {
      order.push(p.pressId);
      if (p.pressId === 1) await first.promise;
      return 0;
    });
    await handshake();
    await peer.send(2, { type: 'KEY', pressId: 1, key: 1, uptimeMs: 0 });
    await peer.send(3, { type: 'KEY', pressId: 2, key: 1, uptimeMs: 0 });
    await settle();
    expect(order).toEqual([1]);
    first.resolve(0);
    await settle();
    expect(order).toEqual([1, 2]);
  });

  it('a KEY before any HELLO gets NAK 3 (busy) and a GET_INFO', async () => {
    await setup();
    await tick(2000); // GET_INFO given up
    peer.clear();
    await peer.send(0, { type: 'KEY', pressId: 9, key: 3, uptimeMs: 0 });
    await settle();
    expect(calls).toEqual([]);
    expect(peer.ofType('NAK').map((f) => f.msg)).toEqual([{ type: 'NAK', seq: 0, reason: 3 }]);
    await tick(1000);
    expect(peer.ofType('GET_INFO').length).toBeGreaterThanOrEqual(1);
  });
});

describe('HostLink: bad frames', () => {
  it('unknown type with a good CRC ⇒ NAK 2', async () => {
    await setup();
    await handshake();
    await peer.sendRaw(buildFrame(5, 0x55, Uint8Array.of(1, 2, 3)));
    await settle();
    expect(peer.ofType('NAK').map((f) => f.msg)).toEqual([{ type: 'NAK', seq: 5, reason: 2 }]);
    expect(link.counters.naks).toBe(1);
  });

  it('a host-only type sent by the pad ⇒ NAK 2', async () => {
    await setup();
    await handshake();
    await peer.send(5, { type: 'ARM', seconds: 1, caseRef: '' });
    await settle();
    expect(peer.ofType('NAK').map((f) => f.msg)).toEqual([{ type: 'NAK', seq: 5, reason: 2 }]);
  });

  it('key 6 ⇒ NAK 4 and the handler is not called', async () => {
    await setup();
    await handshake();
    await peer.sendRaw(buildFrame(6, 0x10, fromHex('01 00 00 00 06 00 00 00 00')));
    await settle();
    expect(peer.ofType('NAK').map((f) => f.msg)).toEqual([{ type: 'NAK', seq: 6, reason: 4 }]);
    expect(calls).toEqual([]);
  });

  it('trailing bytes ⇒ NAK 4', async () => {
    await setup();
    await handshake();
    await peer.sendRaw(buildFrame(6, 0x12, fromHex('01 00 00 00 00')));
    await settle();
    expect(peer.ofType('NAK').map((f) => f.msg)).toEqual([{ type: 'NAK', seq: 6, reason: 4 }]);
  });

  it('bad CRC ⇒ no answer at all, counted', async () => {
    await setup();
    await handshake();
    peer.clear();
    const key = encodeFrame(2, { type: 'KEY', pressId: 1, key: 1, uptimeMs: 0 });
    key[key.length - 1] = (key[key.length - 1] as number) ^ 0xff;
    await peer.sendRaw(key);
    await settle();
    expect(peer.seen).toEqual([]);
    expect(link.counters.badCrc).toBe(1);
    expect(calls).toEqual([]);
  });

  it('a bad ACK is ignored, not NAKed', async () => {
    await setup();
    await handshake();
    peer.clear();
    await peer.sendRaw(buildFrame(3, 0x7f, fromHex('00 09')));
    await settle();
    expect(peer.seen).toEqual([]);
  });

  it('garbage and a split frame on the wire: the KEY still lands', async () => {
    await setup();
    await handshake();
    const key = encodeFrame(2, { type: 'KEY', pressId: 1, key: 5, uptimeMs: 0 });
    await peer.sendRaw(Uint8Array.of(0xa5, 0x00, 0xa5, 0x5a, 0x07));
    await peer.sendRaw(key.subarray(0, 6));
    await tick(10);
    await peer.sendRaw(key.subarray(6));
    await settle();
    expect(calls.map((c) => c.key)).toEqual([5]);
  });

  it('a frame hidden behind a false header is handled after 50 ms of quiet', async () => {
    await setup();
    await handshake();
    const key = encodeFrame(2, { type: 'KEY', pressId: 1, key: 5, uptimeMs: 0 });
    await peer.sendRaw(Uint8Array.of(0xa5, 0x5a, 0x01, 0x00, 0x10, 0x40, 0x00, ...key));
    await settle();
    expect(calls).toEqual([]);
    await tick(60);
    expect(calls.map((c) => c.key)).toEqual([5]);
  });
});

describe('HostLink: host frames', () => {
  it.each([
    ['arm', (l: HostLink) => l.arm(30, 'C-9'), { type: 'ARM', seconds: 30, caseRef: 'C-9' }],
    ['disarm', (l: HostLink) => l.disarm(), { type: 'DISARM' }],
    ['prompt', (l: HostLink) => l.prompt(2), { type: 'PROMPT', prompt: 2 }],
    ['setMode', (l: HostLink) => l.setMode(1), { type: 'SET_MODE', mode: 1 }],
    [
      'showStaff',
      (l: HostLink) => l.showStaff({ staffNo: '007', name: '张三', window: '3号窗口' }),
      { type: 'SHOW_STAFF', staffNo: '007', name: '张三', window: '3号窗口' },
    ],
    [
      'showText',
      (l: HostLink) => l.showText(1, '欢迎', 'gbk'),
      { type: 'SHOW_TEXT', line: 1, encoding: 'gbk', text: '欢迎' },
    ],
  ] as const)('%s sends its frame and resolves on ACK', async (_name, call, expected) => {
    await setup();
    await handshake();
    peer.clear();
    const done = call(link);
    await settle();
    const sent = peer.last();
    expect(sent?.msg).toEqual(expected);
    await peer.send(2, { type: 'ACK', ackedSeq: sent?.seq ?? -1, status: 0 });
    await expect(done).resolves.toBeUndefined();
  });

  it('retransmits with the same SEQ every 300 ms, 5 times, then rejects and the link goes down', async () => {
    await setup(undefined, { pingIntervalMs: 60_000 });
    await handshake();
    peer.clear();
    const done = link.arm(10);
    const rejected = expect(done).rejects.toMatchObject({ code: 'NO_ACK' });
    await tick(299);
    expect(peer.ofType('ARM')).toHaveLength(1);
    await tick(1);
    expect(peer.ofType('ARM')).toHaveLength(2);
    await tick(1200);
    // GET_INFO was SEQ 0, the ACK of HELLO SEQ 1.
    expect(peer.ofType('ARM').map((f) => f.seq)).toEqual([2, 2, 2, 2, 2, 2]);
    expect(link.state).toBe('up');
    await tick(300);
    await rejected;
    expect(link.state).toBe('down');
    expect(link.counters.retransmits).toBe(5);
  });

  it('an ACK after a retransmission settles it and stops the timer', async () => {
    await setup(undefined, { pingIntervalMs: 60_000 });
    await handshake();
    peer.clear();
    const done = link.prompt(1);
    await tick(650);
    const seq = peer.ofType('PROMPT')[0]?.seq ?? -1;
    await peer.send(2, { type: 'ACK', ackedSeq: seq, status: 0 });
    await expect(done).resolves.toBeUndefined();
    await tick(3000);
    expect(peer.ofType('PROMPT')).toHaveLength(3);
  });

  it('NAK 2 from the pad rejects the helper without taking the link down', async () => {
    await setup();
    await handshake();
    const done = link.showText(0, 'hi');
    await settle();
    await peer.send(2, { type: 'NAK', seq: peer.last()?.seq ?? -1, reason: 2 });
    await expect(done).rejects.toMatchObject({ code: 'NAK', nakReason: 2 });
    expect(link.state).toBe('up');
  });

  it('NAK 3 (busy) keeps retransmitting', async () => {
    await setup();
    await handshake();
    const done = link.setMode(2);
    await settle();
    const seq = peer.last()?.seq ?? -1;
    await peer.send(2, { type: 'NAK', seq, reason: 3 });
    await tick(300);
    await peer.send(3, { type: 'ACK', ackedSeq: seq, status: 0 });
    await expect(done).resolves.toBeUndefined();
  });

  it('a value the spec does not allow rejects without sending', async () => {
    await setup();
    await handshake();
    peer.clear();
    await expect(link.prompt(9)).rejects.toMatchObject({ code: 'BAD_MESSAGE' });
    await settle();
    expect(peer.seen).toEqual([]);
  });

  it('SEQs count up per frame sent, ACKs included, and wrap at 256', async () => {
    await setup(undefined, { pingIntervalMs: 600_000 });
    await handshake();
    for (let i = 0; i < 300; i++) await peer.send(i & 0xff, { type: 'PONG', nonce: i });
    await settle(50);
    const seqs = peer.seen.map((f) => f.seq);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(((seqs[i - 1] as number) + 1) & 0xff);
  });
});

describe('HostLink: liveness', () => {
  it('PINGs after 2 s idle; 3 unanswered PINGs ⇒ down; a PONG brings it back up', async () => {
    await setup();
    await handshake();
    const states: string[] = [];
    link.on('state', (s) => states.push(s));
    peer.clear();
    await tick(2000);
    expect(peer.ofType('PING')).toHaveLength(1);
    await tick(4000);
    expect(peer.ofType('PING')).toHaveLength(3);
    expect(link.state).toBe('up');
    await tick(2000);
    expect(link.state).toBe('down');
    // While down it probes with GET_INFO; any answer from the known pad brings it back.
    expect(peer.ofType('GET_INFO').length).toBeGreaterThanOrEqual(1);
    await peer.send(9, { type: 'PONG', nonce: 1 });
    await settle();
    expect(link.state).toBe('up');
    expect(states).toEqual(['down', 'up']);
  });

  it('answered PINGs keep the link up', async () => {
    await setup();
    await handshake();
    let seq = 10;
    link.on('frame', (r) => {
      if (r.dir === 'tx' && r.type === 'PING') {
        const bytes = fromHex(r.hex);
        void peer.send(seq++ & 0xff, { type: 'ACK', ackedSeq: bytes[3] as number, status: 0 });
      }
    });
    await tick(20_000);
    expect(link.state).toBe('up');
    expect(link.counters.pingsSent).toBeGreaterThanOrEqual(9);
  });

  it('traffic from the pad postpones PINGs', async () => {
    await setup();
    await handshake();
    peer.clear();
    for (let i = 0; i < 5; i++) {
      await tick(1500);
      await peer.send(10 + i, { type: 'PONG', nonce: i });
    }
    expect(peer.ofType('PING')).toEqual([]);
  });
});

describe('HostLink: lifecycle and diagnostics', () => {
  it('close() clears every timer and rejects frames in flight', async () => {
    await setup();
    await handshake();
    const done = link.arm(5);
    const rejected = expect(done).rejects.toMatchObject({ code: 'LINK_CLOSED' });
    await link.close();
    await rejected;
    expect(vi.getTimerCount()).toBe(0);
    expect(link.state).toBe('down');
  });

  it('an unplug (transport disconnect) takes the link down and stops its timers', async () => {
    const pair = await wirePair();
    peer = pair.peer;
    link = new HostLink({ transport: pair.host, onKey: async () => 0 });
    await link.open();
    const done = link.disarm();
    const rejected = expect(done).rejects.toMatchObject({ code: 'LINK_CLOSED' });
    pair.host.disconnect();
    await rejected;
    expect(link.state).toBe('down');
    expect(vi.getTimerCount()).toBe(0);
    // The supervisor reopens it.
    await link.open();
    expect(link.state).toBe('connecting');
  });

  it('open() rejects when the transport cannot open', async () => {
    const pair = await wirePair();
    pair.host.failOpen = new Error('ENOENT');
    link = new HostLink({ transport: pair.host, onKey: async () => 0 });
    await expect(link.open()).rejects.toThrow('ENOENT');
  });

  it('keeps a ring of the last 200 frames with direction, hex and time', async () => {
    await setup(undefined, { pingIntervalMs: 600_000 });
    await handshake();
    for (let i = 0; i < 150; i++) await peer.send(i, { type: 'PONG', nonce: i });
    await settle(50);
    const ring = link.recentFrames();
    expect(ring).toHaveLength(200);
    expect(ring.at(-1)).toMatchObject({ dir: 'tx', type: 'ACK' });
    expect(ring.at(-2)).toMatchObject({ dir: 'rx', type: 'PONG' });
    expect(ring.at(-1)?.hex).toMatch(/^A5 5A 01 /);
    expect(typeof ring[0]?.atMs).toBe('number');
  });

  it('a line that stops taking bytes: NAKs queue up to MAX_QUEUED_UNRELIABLE, the rest are dropped and counted', async () => {
    const pair = await wirePair();
    peer = pair.peer;
    link = new HostLink({ transport: pair.host, onKey: async () => 0, pingIntervalMs: 600_000 });
    await link.open();
    await settle();
    await handshake();
    // From here the host's writes wait (a pty whose reader stopped): nothing it sends goes out.
    const line = deferred<void>();
    const write = pair.host.write.bind(pair.host);
    pair.host.write = async (bytes) => {
      await line.promise;
      return write(bytes);
    };
    peer.clear();
    // A pad answering with garbage: more frames of an unknown TYPE than the queue holds, each worth a NAK 2.
    const sent = MAX_QUEUED_UNRELIABLE + 40;
    for (let i = 0; i < sent; i++)
      await peer.sendRaw(buildFrame(i % 256, 0x55, Uint8Array.of(i & 0xff, i >> 8)));
    await settle();
    expect(link.counters.naks).toBe(sent);
    expect(link.counters.unreliableDropped).toBe(40);
    // The line takes bytes again: the queued NAKs go out in order, and the queue takes new ones.
    line.resolve();
    await settle(MAX_QUEUED_UNRELIABLE * 20);
    const naks = peer.ofType('NAK').map((f) => f.msg.seq);
    expect(naks).toEqual(Array.from({ length: MAX_QUEUED_UNRELIABLE }, (_, i) => i % 256));
    await peer.sendRaw(buildFrame(sent % 256, 0x55, Uint8Array.of(7, 7)));
    await settle();
    expect(peer.ofType('NAK').at(-1)?.msg).toEqual({ type: 'NAK', seq: sent % 256, reason: 2 });
    expect(link.counters.unreliableDropped).toBe(40);
  });

  it('a throwing event listener does not break the link', async () => {
    await setup();
    link.on('device', () => {
      throw new Error('UI bug');
    });
    await handshake();
    expect(link.state).toBe('up');
  });
});
