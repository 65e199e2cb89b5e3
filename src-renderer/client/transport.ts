import type { Err } from '../../src-shared/result.ts';

/** Link between the renderer and the core services, as the screens see it. */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting';

/**
 * What the client needs from a carrier (Electron IPC, the devhost's WebSocket, or in-process).
 * A transport moves raw, unvalidated values; the client validates them against the contract.
 * `invoke` must never reject: a lost link resolves as an `INTERNAL` Err.
 */
export interface Transport {
  invoke(call: string, args: unknown): Promise<unknown>;
  /** Every event the host pushes, unvalidated. Returns an unsubscribe function. */
  subscribe(listener: (event: string, payload: unknown) => void): () => void;
  connection(): ConnectionState;
  onConnection(listener: (state: ConnectionState) => void): () => void;
  close(): void;
}

export function disconnectedError(detail = 'bridge disconnected'): Err {
  return { ok: false, error: { code: 'INTERNAL', message: detail } };
}

/** A tiny listener set that isolates listeners from each other's exceptions. */
export class Listeners<A extends unknown[]> {
  private readonly set = new Set<(...args: A) => void>();

  add(listener: (...args: A) => void): () => void {
    this.set.add(listener);
    return () => {
      this.set.delete(listener);
    };
  }

  emit(...args: A): void {
    for (const listener of [...this.set]) {
      try {
        listener(...args);
      } catch (e) {
        console.error('listener failed', e);
      }
    }
  }

  clear(): void {
    this.set.clear();
  }

  get size(): number {
    return this.set.size;
  }
}
