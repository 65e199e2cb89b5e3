import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryTransport } from '../../../drivers/transports/memory.ts';
import { ReconnectingTransport } from '../../../drivers/transports/reconnecting.ts';
import { settle } from '../evp1/wire-peer.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Inner transports made on demand, each connected to a shared far end. */
function factory() {
  const far = new MemoryTransport('far');
  const made: MemoryTransport[] = [];
  let failNext = 0;
  return {
    far,
    made,
    failOpens(n: number) {
      failNext = n;
    },
    create: () => {
      const t = new MemoryTransport(`inner#${made.length}`);
      t.peer = far;
      far.peer = t;
      if (failNext > 0) {
        failNext--;
        t.failOpen = new Error('ENOENT');
      }
      made.push(t);
      return t;
    },
  };
}

describe('ReconnectingTransport', () => {
  it('reopens a fresh inner transport after it closes, and keeps delivering data', async () => {
    const f = factory();
    await f.far.open();
    const rt = new ReconnectingTransport({ create: f.create, minDelayMs: 100 });
    const got: number[] = [];
    rt.on('data', (d) => got.push(...d));
    const ups: boolean[] = [];
    rt.on('connection', (up) => ups.push(up));
    await rt.open();
    expect(rt.connected).toBe(true);
    f.made[0]?.disconnect();
    expect(rt.connected).toBe(false);
    expect(rt.isOpen).toBe(true);
    await vi.advanceTimersByTimeAsync(100);
    expect(f.made).toHaveLength(2);
    expect(rt.connected).toBe(true);
    await f.far.write(Uint8Array.of(7));
    await settle();
    expect(got).toEqual([7]);
    expect(ups).toEqual([true, false, true]);
    await rt.close();
  });

  it('retries failing opens with growing delays, forever, until close()', async () => {
    const f = factory();
    f.failOpens(4);
    const rt = new ReconnectingTransport({ create: f.create, minDelayMs: 100, maxDelayMs: 400 });
    await rt.open();
    expect(rt.connected).toBe(false);
    await vi.advanceTimersByTimeAsync(100); // 2nd attempt
    await vi.advanceTimersByTimeAsync(200); // 3rd
    await vi.advanceTimersByTimeAsync(400); // 4th
    expect(f.made).toHaveLength(4);
    await vi.advanceTimersByTimeAsync(400); // 5th succeeds
    expect(rt.connected).toBe(true);
    await rt.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('drops writes while the inner link is down, without rejecting', async () => {
    const f = factory();
    f.failOpens(1);
    const rt = new ReconnectingTransport({ create: f.create });
    await rt.open();
    await expect(rt.write(Uint8Array.of(1))).resolves.toBeUndefined();
    await rt.close();
  });

  it('close() stops reconnecting', async () => {
    const f = factory();
    const rt = new ReconnectingTransport({ create: f.create, minDelayMs: 100 });
    await rt.open();
    f.made[0]?.disconnect();
    await rt.close();
    await vi.advanceTimersByTimeAsync(5000);
    expect(f.made).toHaveLength(1);
  });
});
