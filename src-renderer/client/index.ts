import { createIpcTransport } from './ipc-transport.ts';
import type { Transport } from './transport.ts';
import { createWsTransport } from './ws-transport.ts';

export { type Client, type ClientOptions, createClient, type ProtocolProblem } from './client.ts';
export { createIpcTransport, type HaochaPreloadApi } from './ipc-transport.ts';
export { createMemoryTransport, type MemoryHandler, type MemoryTransport } from './memory-transport.ts';
export type { ConnectionState, Transport } from './transport.ts';
export { bridgeUrl, createWsTransport, type WsTransportOptions } from './ws-transport.ts';

/** Electron's preload present ⇒ IPC; otherwise the devhost's WebSocket on the page's own host. */
export function pickTransport(win: Window = window): Transport {
  return win.haocha ? createIpcTransport(win.haocha) : createWsTransport();
}
