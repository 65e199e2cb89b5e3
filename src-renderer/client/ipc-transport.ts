import { EVENT_NAMES } from '../../src-shared/calls.ts';
import { type ConnectionState, Listeners, type Transport } from './transport.ts';

/**
 * What the Electron preload exposes with contextBridge (architecture.md: an allowlisted
 * `invoke(name, args)` and `subscribe(event)`). `invoke` resolves to the host's Result;
 * `subscribe` may return an unsubscribe function (anything else it returns is ignored).
 */
export interface HaochaPreloadApi {
  invoke(name: string, args: unknown): Promise<unknown>;
  subscribe(event: string, listener: (payload: unknown) => void): unknown;
}

declare global {
  interface Window {
    haocha?: HaochaPreloadApi;
  }
}

/** Electron transport: IPC is up as long as the window lives, so the connection is always open. */
export function createIpcTransport(api: HaochaPreloadApi): Transport {
  const eventListeners = new Listeners<[string, unknown]>();
  const unsubscribers: Array<() => void> = [];
  for (const event of EVENT_NAMES) {
    const off = api.subscribe(event, (payload) => eventListeners.emit(event, payload));
    if (typeof off === 'function') unsubscribers.push(() => off());
  }
  return {
    async invoke(call, args) {
      try {
        return await api.invoke(call, args);
      } catch (e) {
        // ipcRenderer.invoke rejects when the main-process handler throws: keep the message only.
        return {
          ok: false,
          error: { code: 'INTERNAL', message: `${call}: ${(e as Error)?.message ?? String(e)}` },
        };
      }
    },
    subscribe: (listener) => eventListeners.add(listener),
    connection: (): ConnectionState => 'open',
    onConnection: () => () => {},
    close() {
      for (const off of unsubscribers.splice(0)) off();
      eventListeners.clear();
    },
  };
}
