/** TcpTransport against a loopback server: bytes both ways, peer close = unplug, refused connect. */

import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { KeyStatusCode } from '../../../drivers/evp1/frames.ts';
import { PadSimulator } from '../../../drivers/sim/pad-simulator.ts';
import { PadSupervisor } from '../../../drivers/supervisor.ts';
import { isTcpUrl, parseTcpUrl, TcpTransport } from '../../../drivers/transports/tcp.ts';
import type { TransportCloseInfo } from '../../../drivers/transports/types.ts';

function waitFor(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
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

let server: Server | null = null;
const sockets: Socket[] = [];
const cleanups: (() => Promise<void>)[] = [];

async function listen(onConnection: (s: Socket) => void = () => {}): Promise<number> {
  server = createServer((s) => {
    sockets.push(s);
    onConnection(s);
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  for (const s of sockets.splice(0)) s.destroy();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

describe('parseTcpUrl', () => {
  it('host and port, IPv6 in brackets', () => {
    expect(parseTcpUrl('tcp://10.0.0.7:4001')).toEqual({ host: '10.0.0.7', port: 4001 });
    expect(parseTcpUrl('tcp://pad-3.hall.local:23')).toEqual({ host: 'pad-3.hall.local', port: 23 });
    expect(parseTcpUrl('tcp://[::1]:4001')).toEqual({ host: '::1', port: 4001 });
    expect(isTcpUrl('tcp://x:1')).toBe(true);
    expect(isTcpUrl('/dev/ttyUSB0')).toBe(false);
  });

  it('refuses what is not tcp://host:port, naming the problem', () => {
    expect(() => parseTcpUrl('/dev/ttyUSB0')).toThrow(/expected tcp:\/\/host:port/);
    expect(() => parseTcpUrl('udp://a:1')).toThrow(/got udp:/);
    expect(() => parseTcpUrl('tcp://a')).toThrow(/no port/);
    expect(() => parseTcpUrl('tcp://a:1/x')).toThrow(/unexpected path/);
  });
});

describe('TcpTransport', () => {
  it('bytes both ways, as Uint8Array', async () => {
    const port = await listen((s) => s.on('data', (d) => s.write(Buffer.concat([Buffer.from('echo:'), d]))));
    const t = TcpTransport.fromUrl(`tcp://127.0.0.1:${port}`);
    cleanups.push(() => t.close());
    const got: number[] = [];
    t.on('data', (b) => {
      expect(b).toBeInstanceOf(Uint8Array);
      got.push(...b);
    });
    await t.open();
    expect(t.isOpen).toBe(true);
    await t.write(new Uint8Array([0xa5, 0x5a, 0x01]));
    await waitFor(() => got.length === 8);
    expect(Buffer.from(got).subarray(5)).toEqual(Buffer.from([0xa5, 0x5a, 0x01]));
  });

  it('the peer closing is an unplug: close {disconnected: true}, once; write then rejects', async () => {
    const port = await listen();
    const t = TcpTransport.fromUrl(`tcp://127.0.0.1:${port}`);
    const closes: TransportCloseInfo[] = [];
    t.on('close', (i) => closes.push(i));
    await t.open();
    await waitFor(() => sockets.length === 1);
    sockets[0]?.destroy();
    await waitFor(() => closes.length === 1);
    expect(closes[0]?.disconnected).toBe(true);
    expect(t.isOpen).toBe(false);
    await expect(t.write(new Uint8Array([1]))).rejects.toThrow(/not open/);
  });

  it('close(): close {disconnected: false}; closing twice is a no-op; it can open again', async () => {
    const port = await listen();
    const t = TcpTransport.fromUrl(`tcp://127.0.0.1:${port}`);
    const closes: TransportCloseInfo[] = [];
    t.on('close', (i) => closes.push(i));
    await t.open();
    await t.close();
    await t.close();
    expect(closes).toEqual([{ disconnected: false }]);
    await t.open();
    expect(t.isOpen).toBe(true);
    await t.close();
  });

  it('nothing listening: open() rejects (ECONNREFUSED)', async () => {
    const port = await listen();
    await new Promise<void>((r) => server?.close(() => r()));
    server = null;
    await expect(TcpTransport.fromUrl(`tcp://127.0.0.1:${port}`).open()).rejects.toThrow(/ECONNREFUSED/);
  });

  it('EVP/1 over TCP: a supervised counter and a networked pad; the pad reconnecting after a drop', async () => {
    const sims: PadSimulator[] = [];
    let bootId = 1000;
    const port = await listen((s) => {
      // Each connection is a pad answering on the server side (a serial-to-Ethernet box).
      const sim = new PadSimulator({ transport: TcpTransport.fromSocket(s), seed: 3, bootId: bootId++ });
      sims.push(sim);
      void sim.start();
    });
    const keys: number[] = [];
    const sup = new PadSupervisor({
      makeTransport: () => TcpTransport.fromUrl(`tcp://127.0.0.1:${port}`),
      onKey: async (p): Promise<KeyStatusCode> => {
        keys.push(p.key);
        return 0;
      },
    });
    cleanups.push(async () => {
      await sup.stop();
      for (const s of sims) await s.stop();
    });
    sup.start();
    await waitFor(() => sup.state === 'up', 3000, 'up');
    expect((await sims[0]?.press(2))?.status).toBe(0);
    sockets[0]?.destroy(); // the network drops
    await waitFor(() => sup.state === 'up' && sims.length === 2, 3000, 'up again');
    expect(sup.counters.reconnects).toBe(1);
    expect((await sims[1]?.press(5))?.status).toBe(0);
    expect(keys).toEqual([2, 5]);
  });
});
