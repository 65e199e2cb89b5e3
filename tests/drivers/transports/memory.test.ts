import { describe, expect, it } from 'vitest';
import { createMemoryPair } from '../../../drivers/transports/memory.ts';
import { TransportClosedError } from '../../../drivers/transports/types.ts';
import { settle } from '../evp1/wire-peer.ts';

describe('MemoryTransport pair', () => {
  it('delivers bytes from one end to the other as copies', async () => {
    const [a, b] = createMemoryPair();
    await a.open();
    await b.open();
    const got: Uint8Array[] = [];
    b.on('data', (d) => got.push(d));
    const sent = Uint8Array.of(1, 2, 3);
    await a.write(sent);
    sent[0] = 9;
    await settle();
    expect(got).toEqual([Uint8Array.of(1, 2, 3)]);
  });

  it('bytes written while the other end is closed are lost, like on a cable', async () => {
    const [a, b] = createMemoryPair();
    await a.open();
    const got: Uint8Array[] = [];
    b.on('data', (d) => got.push(d));
    await a.write(Uint8Array.of(1));
    await settle();
    await b.open();
    await a.write(Uint8Array.of(2));
    await settle();
    expect(got).toEqual([Uint8Array.of(2)]);
  });

  it('write on a closed end rejects; close is idempotent and reports disconnected: false', async () => {
    const [a] = createMemoryPair();
    await expect(a.write(Uint8Array.of(1))).rejects.toBeInstanceOf(TransportClosedError);
    const closes: unknown[] = [];
    a.on('close', (i) => closes.push(i));
    await a.open();
    await a.close();
    await a.close();
    expect(closes).toEqual([{ disconnected: false }]);
  });

  it('disconnect() reports an unplug', async () => {
    const [a] = createMemoryPair();
    const closes: { disconnected: boolean }[] = [];
    a.on('close', (i) => closes.push(i));
    await a.open();
    a.disconnect();
    expect(closes).toMatchObject([{ disconnected: true }]);
    expect(a.isOpen).toBe(false);
  });

  it('tap can split, drop and rewrite bytes in flight', async () => {
    const [a, b] = createMemoryPair();
    await a.open();
    await b.open();
    const got: number[][] = [];
    b.on('data', (d) => got.push([...d]));
    a.tap = (bytes) => (bytes[0] === 0 ? [] : [bytes.subarray(0, 1), bytes.subarray(1)]);
    await a.write(Uint8Array.of(0, 1));
    await a.write(Uint8Array.of(5, 6, 7));
    await settle();
    expect(got).toEqual([[5], [6, 7]]);
  });
});
