/** KeylineLink over the in-memory line: presses out, connection ids unique across reconnects. */

import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { KeyPress } from '../../../drivers/evp1/host-link.ts';
import { KeylineLink, nextConnectionId } from '../../../drivers/keyline/keyline-link.ts';
import { createMemoryPair, type MemoryTransport } from '../../../drivers/transports/memory.ts';

const ascii = (s: string) => new TextEncoder().encode(s);
let host: MemoryTransport;
let pad: MemoryTransport;
let link: KeylineLink;
let presses: KeyPress[];

beforeEach(async () => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2026-11-26T08:00:00Z'));
  [host, pad] = createMemoryPair();
  presses = [];
  link = new KeylineLink({
    transport: host,
    onKey: async (p) => {
      presses.push(p);
      return 0;
    },
  });
  await pad.open();
  await link.open();
});

afterEach(async () => {
  await link.close();
  vi.useRealTimers();
});

describe('KeylineLink', () => {
  it('is up once the port is open; presses are numbered from 1 under the connection id', async () => {
    expect(link.state).toBe('up');
    await pad.write(ascii('K1\r\nnoise\r\nK5\n'));
    await vi.advanceTimersByTimeAsync(0);
    const id = link.connectionId;
    expect(id).toBe(Math.floor(Date.parse('2026-11-26T08:00:00Z') / 1000));
    expect(presses.map((p) => [p.bootId, p.pressId, p.key])).toEqual([
      [id, 1, 1],
      [id, 2, 5],
    ]);
    expect(link.counters).toMatchObject({ keys: 2, junkLines: 1 });
    expect(link.recentFrames().map((f) => f.type)).toEqual(['K1', 'K5']);
  });

  it('unplug: down; reopened within the same second it gets a new, larger connection id', async () => {
    const first = link.connectionId ?? 0;
    host.disconnect();
    expect(link.state).toBe('down');
    await link.open();
    expect(link.connectionId).toBe(first + 1);
    await pad.write(ascii('K2\r\n'));
    await vi.advanceTimersByTimeAsync(0);
    expect(presses.map((p) => [p.bootId, p.pressId])).toEqual([[first + 1, 1]]);
  });

  it('a half line before an unplug is not joined to the next connection', async () => {
    await pad.write(ascii('K'));
    await vi.advanceTimersByTimeAsync(0);
    host.disconnect();
    await link.open();
    await pad.write(ascii('3\r\nK4\r\n'));
    await vi.advanceTimersByTimeAsync(0);
    expect(presses.map((p) => p.key)).toEqual([4]);
  });

  it('a throwing handler costs nothing but a log line', async () => {
    const l2 = new KeylineLink({
      transport: host,
      onKey: async () => {
        throw new Error('disk full');
      },
    });
    await link.close();
    await l2.open();
    await pad.write(ascii('K1\r\nK2\r\n'));
    await vi.advanceTimersByTimeAsync(0);
    expect(l2.counters.keys).toBe(2);
    await l2.close();
  });

  it('property: connection ids strictly increase, whatever the clock does', () => {
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: 0, max: 0xffff_0000 }), { nil: null }),
        fc.array(fc.integer({ min: 0, max: 4_000_000_000_000 }), { maxLength: 50 }),
        (seed, clock) => {
          let last = seed;
          for (const now of clock) {
            const next = nextConnectionId(last, now);
            if (last !== null) expect(next).toBeGreaterThan(last);
            last = next;
          }
        },
      ),
    );
  });
});
