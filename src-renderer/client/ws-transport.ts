import { type ConnectionState, disconnectedError, Listeners, type Transport } from './transport.ts';

/** The subset of the browser WebSocket this transport uses (the `ws` package fits it too, for tests). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  send(data: string): void;
  close(): void;
}
export type WebSocketFactory = (url: string) => WebSocketLike;

export interface WsTransportOptions {
  /** Defaults to `/bridge` on the page's own host. */
  url?: string;
  /** Defaults to the global WebSocket. */
  connect?: WebSocketFactory;
  /** First reconnect delay; doubles per failed attempt up to `maxDelayMs`, with jitter. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  random?: () => number;
}

const OPEN = 1;

export function bridgeUrl(loc: Pick<Location, 'protocol' | 'host'> = window.location): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/bridge`;
}

type Pending = { call: string; args: unknown; resolve: (result: unknown) => void; sent: boolean };

/**
 * The devhost transport: `{id, call, args}` out, BridgeMessage in. Calls made while the socket is
 * being opened wait for it; when a socket drops, every pending call resolves as an `INTERNAL`
 * Err (never hangs, never rejects) and the socket is reopened with exponential backoff.
 */
export function createWsTransport(options: WsTransportOptions = {}): Transport & { readonly url: string } {
  const url = options.url ?? bridgeUrl();
  const connect = options.connect ?? ((u: string) => new WebSocket(u) as unknown as WebSocketLike);
  const baseDelay = options.baseDelayMs ?? 500;
  const maxDelay = options.maxDelayMs ?? 10_000;
  const random = options.random ?? Math.random;

  const eventListeners = new Listeners<[string, unknown]>();
  const connectionListeners = new Listeners<[ConnectionState]>();
  const pending = new Map<number, Pending>();
  let state: ConnectionState = 'connecting';
  let socket: WebSocketLike | null = null;
  let nextId = 1;
  let attempts = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let closed = false;

  function setState(next: ConnectionState): void {
    if (next === state) return;
    state = next;
    connectionListeners.emit(next);
  }

  function send(id: number): void {
    const entry = pending.get(id);
    if (!entry || !socket) return;
    try {
      socket.send(JSON.stringify({ id, call: entry.call, args: entry.args }));
      entry.sent = true;
    } catch (e) {
      pending.delete(id);
      entry.resolve(
        disconnectedError(`${entry.call}: send failed, bridge disconnected (${(e as Error).message})`),
      );
    }
  }

  function failAll(reason: string): void {
    const entries = [...pending.values()];
    pending.clear();
    for (const entry of entries) entry.resolve(disconnectedError(reason));
  }

  function onMessage(data: unknown): void {
    let msg: unknown;
    try {
      msg = JSON.parse(typeof data === 'string' ? data : String(data));
    } catch {
      console.warn('[haocha] bridge sent a non-JSON message');
      return;
    }
    if (typeof msg !== 'object' || msg === null) return;
    const m = msg as { kind?: unknown; id?: unknown; result?: unknown; event?: unknown; payload?: unknown };
    if (m.kind === 'reply' && typeof m.id === 'number') {
      const entry = pending.get(m.id);
      if (!entry) return;
      pending.delete(m.id);
      entry.resolve(m.result);
    } else if (m.kind === 'event' && typeof m.event === 'string') {
      eventListeners.emit(m.event, m.payload);
    } else {
      console.warn('[haocha] bridge sent an unknown message kind');
    }
  }

  function scheduleReconnect(): void {
    if (closed || timer) return;
    const ceiling = Math.min(maxDelay, baseDelay * 2 ** attempts);
    const delay = Math.round(ceiling / 2 + (random() * ceiling) / 2);
    attempts += 1;
    timer = setTimeout(() => {
      timer = null;
      open();
    }, delay);
  }

  function open(): void {
    if (closed) return;
    let ws: WebSocketLike;
    try {
      ws = connect(url);
    } catch (e) {
      console.warn('[haocha] cannot open bridge socket', e);
      failAll('bridge disconnected: cannot open the socket');
      setState('reconnecting');
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.onopen = () => {
      if (socket !== ws) return;
      attempts = 0;
      setState('open');
      for (const [id, entry] of [...pending]) {
        if (!entry.sent) send(id);
      }
    };
    ws.onmessage = (ev) => {
      if (socket === ws) onMessage(ev.data);
    };
    ws.onerror = () => {
      // A close event always follows; the close handler does the work.
    };
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      failAll('bridge disconnected');
      if (closed) return;
      setState('reconnecting');
      scheduleReconnect();
    };
  }

  open();

  return {
    url,
    invoke(call, args) {
      return new Promise((resolve) => {
        if (closed) {
          resolve(disconnectedError(`${call}: transport closed, bridge disconnected`));
          return;
        }
        const id = nextId++;
        if (socket) {
          pending.set(id, { call, args, resolve, sent: false });
          // While the socket is being opened the call waits: it goes out on open, or fails with it.
          if (socket.readyState === OPEN) send(id);
        } else {
          resolve(disconnectedError(`${call}: bridge disconnected`));
        }
      });
    },
    subscribe: (listener) => eventListeners.add(listener),
    connection: () => state,
    onConnection: (listener) => connectionListeners.add(listener),
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      const ws = socket;
      socket = null;
      failAll('bridge disconnected: transport closed');
      ws?.close();
      eventListeners.clear();
      connectionListeners.clear();
    },
  };
}
