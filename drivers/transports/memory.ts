/**
 * In-memory transport pair for unit tests: what one end writes, the other end receives (on a
 * microtask, so it works under fake timers). Like a serial line, bytes written while the other
 * end is closed are lost. `tap` lets a test drop, corrupt, split or record the bytes in flight.
 */

import { Emitter } from '../util/emitter.ts';
import {
  type Transport,
  TransportClosedError,
  type TransportCloseInfo,
  type TransportEvents,
} from './types.ts';

/** Returns the chunks to deliver instead of `bytes` (empty array: drop them). */
export type MemoryTap = (bytes: Uint8Array, from: MemoryTransport) => Uint8Array[];

export class MemoryTransport implements Transport {
  private readonly events = new Emitter<TransportEvents>();
  private open_ = false;
  peer: MemoryTransport | null = null;
  tap: MemoryTap | null = null;
  /** When set, open() rejects with it (a port that cannot be opened). */
  failOpen: Error | null = null;

  constructor(readonly description: string) {}

  get isOpen(): boolean {
    return this.open_;
  }

  async open(): Promise<void> {
    if (this.failOpen) throw this.failOpen;
    this.open_ = true;
  }

  async close(): Promise<void> {
    this.shut({ disconnected: false });
  }

  /** Simulates an unplug: the transport closes on its own with `disconnected: true`. */
  disconnect(error: Error = new Error(`${this.description} disconnected`)): void {
    this.shut({ disconnected: true, error });
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (!this.open_) throw new TransportClosedError(this.description);
    const copy = bytes.slice();
    const chunks = this.tap ? this.tap(copy, this) : [copy];
    const peer = this.peer;
    queueMicrotask(() => {
      if (!peer?.open_) return;
      for (const chunk of chunks) peer.events.emit('data', chunk);
    });
  }

  on<K extends keyof TransportEvents>(event: K, listener: TransportEvents[K]): () => void {
    return this.events.on(event, listener);
  }

  private shut(info: TransportCloseInfo): void {
    if (!this.open_) return;
    this.open_ = false;
    this.events.emit('close', info);
  }
}

/** Two connected ends, e.g. `const [host, pad] = createMemoryPair()`. */
export function createMemoryPair(
  names: [string, string] = ['memory:host', 'memory:pad'],
): [MemoryTransport, MemoryTransport] {
  const a = new MemoryTransport(names[0]);
  const b = new MemoryTransport(names[1]);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
