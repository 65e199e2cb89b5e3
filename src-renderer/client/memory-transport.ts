import type { Result } from '../../src-shared/result.ts';
import { type ConnectionState, Listeners, type Transport } from './transport.ts';

export type MemoryHandler = (call: string, args: unknown) => Promise<Result<unknown>> | Result<unknown>;

export interface MemoryTransport extends Transport {
  /** Push an event as the host would (unvalidated, so tests can send bad payloads). */
  emit(event: string, payload: unknown): void;
  setConnection(state: ConnectionState): void;
}

/** In-process transport for unit tests: wraps a call handler such as core's `createCallHandler`. */
export function createMemoryTransport(handler: MemoryHandler): MemoryTransport {
  const eventListeners = new Listeners<[string, unknown]>();
  const connectionListeners = new Listeners<[ConnectionState]>();
  let state: ConnectionState = 'open';
  return {
    async invoke(call, args) {
      try {
        return await handler(call, structuredClone(args));
      } catch (e) {
        return {
          ok: false,
          error: { code: 'INTERNAL', message: `${call} failed: ${(e as Error)?.message ?? String(e)}` },
        };
      }
    },
    subscribe: (listener) => eventListeners.add(listener),
    connection: () => state,
    onConnection: (listener) => connectionListeners.add(listener),
    close() {
      eventListeners.clear();
      connectionListeners.clear();
    },
    emit(event, payload) {
      eventListeners.emit(event, structuredClone(payload));
    },
    setConnection(next) {
      if (next === state) return;
      state = next;
      connectionListeners.emit(next);
    },
  };
}
