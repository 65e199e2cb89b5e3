/**
 * A TCP proxy on loopback between a counter and its hub that misbehaves on request, one HTTP/1.1
 * exchange at a time. It splits each direction into messages (Content-Length or chunked bodies,
 * enough for undici and Fastify) so a fault applies to one upload, not to a random byte.
 *
 * Each request the proxy sees takes the next scripted action (`enqueue`), or, when none is queued,
 * one drawn from the seeded policy (`random`), or passes. Decisions depend on the seed and the
 * request's index only, so a run can be replayed; timings are real and are not.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type FaultAction =
  /** Forward both ways untouched. */
  | { kind: 'pass' }
  /** Reset the counter's connection before the request reaches the hub. */
  | { kind: 'reset_before' }
  /** Forward; when the hub's whole answer is in, reset the counter's connection instead of answering ("lost response after commit"). */
  | { kind: 'lose_response' }
  /** Hold the request `ms` before forwarding it; `Infinity` holds it until `release()`/`heal()`, which reset it. */
  | { kind: 'stall'; ms: number }
  /** Forward request and answer one byte per write, `delayMs` between bytes (0: next turn of the event loop). */
  | { kind: 'trickle'; delayMs: number }
  /** Forward normally, and `delayMs` later replay the request's bytes on a fresh connection to the hub (its answer is discarded). */
  | { kind: 'duplicate'; delayMs: number }
  /** Swallow the request: the hub never sees it, the counter never hears back until `release()`/`heal()` reset it. */
  | { kind: 'drop' };

export type FaultKind = FaultAction['kind'];

export interface RandomPolicy {
  seed: number;
  /** Relative weights; kinds left out never occur. */
  weights: Partial<Record<FaultKind, number>>;
  /** Stall length (ms) drawn up to this; default 200. */
  maxStallMs?: number;
  /** Duplicate replay delay (ms) drawn up to this; default 300. */
  maxDuplicateDelayMs?: number;
}

export interface ProxyStats {
  requests: number;
  byKind: Record<FaultKind, number>;
  /** Replayed duplicates that got an answer from the hub, by HTTP status. */
  duplicateAnswers: Record<number, number>;
  /** Replays that failed (hub down, connection reset). */
  duplicateFailures: number;
  /** Connections the counter opened. */
  connections: number;
}

/** xorshift32: small, seedable, good enough to pick faults. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

/** The action the policy gives its `index`-th undecided request, as a pure function of the policy. */
export function policyChooser(policy: RandomPolicy): () => FaultAction {
  const rnd = seededRandom(policy.seed);
  const entries = Object.entries(policy.weights).filter(([, w]) => (w ?? 0) > 0) as [FaultKind, number][];
  const total = entries.reduce((a, [, w]) => a + w, 0);
  const maxStall = policy.maxStallMs ?? 200;
  const maxDup = policy.maxDuplicateDelayMs ?? 300;
  return () => {
    // Always draw the same number of values per decision, so the sequence depends on the index only.
    const pick = rnd() * total;
    const param = rnd();
    let acc = 0;
    let kind: FaultKind = 'pass';
    for (const [k, w] of entries) {
      acc += w;
      if (pick < acc) {
        kind = k;
        break;
      }
    }
    switch (kind) {
      case 'stall':
        return { kind, ms: Math.floor(param * maxStall) };
      case 'trickle':
        return { kind, delayMs: 0 };
      case 'duplicate':
        return { kind, delayMs: Math.floor(param * maxDup) };
      default:
        return { kind } as FaultAction;
    }
  };
}

/**
 * Length of the first complete HTTP/1.1 message in `buf`, or null while incomplete.
 * A message with neither Content-Length nor chunked encoding has no body (true of the requests and
 * answers that pass here).
 */
export function messageLength(buf: Buffer): number | null {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const head = buf.subarray(0, headEnd).toString('latin1');
  const bodyStart = headEnd + 4;
  if (/\r\ntransfer-encoding:[^\r]*chunked/i.test(head)) {
    let at = bodyStart;
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', at);
      if (lineEnd < 0) return null;
      const size = Number.parseInt(buf.subarray(at, lineEnd).toString('latin1'), 16);
      if (!Number.isFinite(size)) throw new Error('fault proxy: bad chunk size');
      if (size === 0) {
        // Last chunk: optional trailers, then an empty line.
        const end = buf.indexOf('\r\n\r\n', lineEnd);
        return end < 0 ? null : end + 4;
      }
      at = lineEnd + 2 + size + 2;
      if (at > buf.length) return null;
    }
  }
  const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  const total = bodyStart + (cl ? Number(cl[1]) : 0);
  return buf.length >= total ? total : null;
}

/** Splits a byte stream into HTTP messages. */
class MessageReader {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Buffer[] = [];
    for (;;) {
      const n = messageLength(this.buf);
      if (n === null) break;
      out.push(this.buf.subarray(0, n));
      this.buf = this.buf.subarray(n);
    }
    return out;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const tick = () => new Promise<void>((r) => setImmediate(r));

async function writeSlowly(socket: Socket, bytes: Buffer, delayMs: number): Promise<void> {
  for (let i = 0; i < bytes.length; i++) {
    if (socket.destroyed) throw new Error('closed while trickling');
    socket.write(bytes.subarray(i, i + 1));
    await (delayMs > 0 ? sleep(delayMs) : tick());
  }
}

/** One connection to the hub, carrying one exchange at a time. */
class Upstream {
  readonly socket: Socket;
  private readonly reader = new MessageReader();
  private waiting: { resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private closedError: Error | null = null;
  private readonly ready: Promise<void>;
  onClose: () => void = () => {};

  constructor(port: number, host: string) {
    this.socket = createConnection({ port, host, noDelay: true });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.ready.catch(() => {});
    this.socket.on('data', (chunk: Buffer) => {
      for (const msg of this.reader.push(chunk)) {
        const w = this.waiting;
        this.waiting = null;
        w?.resolve(msg);
      }
    });
    this.socket.on('error', (e) => {
      this.closedError ??= e;
    });
    this.socket.on('close', () => {
      this.closedError ??= new Error('hub closed the connection');
      this.waiting?.reject(this.closedError);
      this.waiting = null;
      this.onClose();
    });
  }

  get closed(): boolean {
    return this.closedError !== null || this.socket.destroyed;
  }

  /** Sends a request (all at once, or trickled) and resolves with the hub's whole answer. */
  async exchange(request: Buffer, trickleMs: number | null): Promise<Buffer> {
    await this.ready;
    if (this.closedError) throw this.closedError;
    const answer = new Promise<Buffer>((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
    answer.catch(() => {});
    if (trickleMs === null) this.socket.write(request);
    else await writeSlowly(this.socket, request, trickleMs);
    return answer;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export class FaultProxy {
  private readonly server: Server;
  private readonly queue: FaultAction[] = [];
  private chooser: (() => FaultAction) | null = null;
  private readonly clients = new Set<Socket>();
  /** Connections holding a stalled or dropped request, reset on release(). */
  private readonly held = new Map<Socket, () => void>();
  private readonly replays = new Set<Promise<void>>();
  /** Every decision, in request order: what a seed replays. */
  readonly log: FaultKind[] = [];
  readonly stats: ProxyStats = {
    requests: 0,
    byKind: { pass: 0, reset_before: 0, lose_response: 0, stall: 0, trickle: 0, duplicate: 0, drop: 0 },
    duplicateAnswers: {},
    duplicateFailures: 0,
    connections: 0,
  };

  private constructor(
    private upstreamPort: number,
    private readonly upstreamHost: string,
  ) {
    this.server = createServer({ noDelay: true }, (client) => this.accept(client));
  }

  /** Listens on loopback (port 0: a free one) and forwards to `upstreamPort`. */
  static async start(opts: { upstreamPort: number; port?: number; host?: string }): Promise<FaultProxy> {
    const proxy = new FaultProxy(opts.upstreamPort, opts.host ?? '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    const a = this.server.address();
    if (!a || typeof a === 'string') throw new Error('fault proxy is not listening');
    return a.port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Points the proxy at another hub port (new connections only). */
  setUpstream(port: number): void {
    this.upstreamPort = port;
  }

  /** The next requests take these actions, in order, before the random policy applies again. */
  enqueue(...actions: FaultAction[]): void {
    this.queue.push(...actions);
  }

  /** Faults drawn from a seeded policy for every request with no queued action; null: pass. */
  random(policy: RandomPolicy | null): void {
    this.chooser = policy ? policyChooser(policy) : null;
  }

  /** Scripted actions not yet taken by a request. */
  get queued(): number {
    return this.queue.length;
  }

  /** Requests currently held (stalled forever or dropped). */
  get heldCount(): number {
    return this.held.size;
  }

  /** Resets every connection holding a stalled or dropped request. */
  release(): void {
    for (const [socket, cancel] of [...this.held]) {
      this.held.delete(socket);
      cancel();
      socket.resetAndDestroy();
    }
  }

  /** Back to a clean channel: nothing queued, no random faults, held requests reset. */
  heal(): void {
    this.queue.length = 0;
    this.chooser = null;
    this.release();
  }

  /** Resets every connection the counter has open (a network blip). */
  resetAll(): void {
    this.release();
    for (const c of this.clients) c.resetAndDestroy();
  }

  /** Resolves when every replayed duplicate has been answered or has failed. */
  async settled(): Promise<void> {
    while (this.replays.size > 0) await Promise.allSettled([...this.replays]);
  }

  async close(): Promise<void> {
    this.heal();
    for (const c of this.clients) c.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
    await this.settled();
  }

  private next(): FaultAction {
    const action = this.queue.shift() ?? this.chooser?.() ?? { kind: 'pass' };
    this.stats.requests++;
    this.stats.byKind[action.kind]++;
    this.log.push(action.kind);
    return action;
  }

  private accept(client: Socket): void {
    this.stats.connections++;
    this.clients.add(client);
    const reader = new MessageReader();
    const pending: Buffer[] = [];
    let busy = false;
    let upstream: Upstream | null = null;
    const teardown = () => {
      this.held.delete(client);
      upstream?.destroy();
      if (!client.destroyed) client.destroy();
    };
    client.on('error', () => {});
    client.on('close', () => {
      this.clients.delete(client);
      teardown();
    });
    const connect = (): Upstream => {
      if (upstream && !upstream.closed) return upstream;
      const u = new Upstream(this.upstreamPort, this.upstreamHost);
      // The hub closed its side (restart, idle keep-alive): close ours, as a plain proxy would.
      u.onClose = () => {
        if (!busy && !client.destroyed) client.destroy();
      };
      upstream = u;
      return u;
    };
    const pump = async () => {
      if (busy) return;
      busy = true;
      try {
        while (pending.length > 0 && !client.destroyed) {
          const request = pending.shift() as Buffer;
          await this.handle(client, request, this.next(), connect);
        }
      } catch {
        // Any failure on this exchange ends the connection, like a broken link.
        client.resetAndDestroy();
        upstream?.destroy();
      } finally {
        busy = false;
      }
    };
    client.on('data', (chunk: Buffer) => {
      try {
        pending.push(...reader.push(chunk));
      } catch {
        client.resetAndDestroy();
        return;
      }
      void pump();
    });
  }

  private async handle(
    client: Socket,
    request: Buffer,
    action: FaultAction,
    connect: () => Upstream,
  ): Promise<void> {
    switch (action.kind) {
      case 'reset_before':
        client.resetAndDestroy();
        return;
      case 'drop':
        await this.hold(client, Number.POSITIVE_INFINITY);
        return;
      case 'stall':
        await this.hold(client, action.ms);
        break;
      case 'duplicate':
        this.replay(request, action.delayMs);
        break;
      default:
        break;
    }
    const trickle = action.kind === 'trickle' ? action.delayMs : null;
    const answer = await connect().exchange(request, trickle);
    if (action.kind === 'lose_response') {
      client.resetAndDestroy();
      return;
    }
    if (trickle === null) client.write(answer);
    else await writeSlowly(client, answer, trickle);
  }

  /** Waits `ms` (forever: until release) with the client's request held; rejects if released. */
  private hold(client: Socket, ms: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = Number.isFinite(ms) ? setTimeout(done, ms) : null;
      function done() {
        cleanup();
        resolve();
      }
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        this.held.delete(client);
      };
      this.held.set(client, () => {
        cleanup();
        reject(new Error('released'));
      });
      client.once('close', () => {
        cleanup();
        reject(new Error('client closed'));
      });
    });
  }

  private replay(request: Buffer, delayMs: number): void {
    const run = (async () => {
      await sleep(delayMs);
      const u = new Upstream(this.upstreamPort, this.upstreamHost);
      try {
        const answer = await u.exchange(request, null);
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer.toString('latin1', 0, 20))?.[1] ?? 0);
        this.stats.duplicateAnswers[status] = (this.stats.duplicateAnswers[status] ?? 0) + 1;
      } catch {
        this.stats.duplicateFailures++;
      } finally {
        u.destroy();
      }
    })();
    this.replays.add(run);
    void run.finally(() => this.replays.delete(run));
  }
}
