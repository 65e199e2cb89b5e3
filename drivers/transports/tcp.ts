/**
 * TCP transport for networked pads (`tcp://host:port`): the same byte stream as a serial line.
 * A peer that closes, resets or times out is a `close` with `disconnected: true`; reconnecting is
 * the supervisor's job, as for serial. Nagle is off (a KEY frame is 18 bytes and its ACK waits
 * on a commit: no 40 ms batching), and TCP keep-alive is on so a dead peer is noticed even when
 * the link's PING watchdog is not running.
 */

import { connect, type Socket } from 'node:net';
import { Emitter } from '../util/emitter.ts';
import {
  type Transport,
  TransportClosedError,
  type TransportCloseInfo,
  type TransportEvents,
} from './types.ts';

export interface TcpAddress {
  host: string;
  port: number;
}

/** Parses `tcp://host:port` (IPv6 as `tcp://[::1]:port`); throws a TypeError naming the problem. */
export function parseTcpUrl(url: string): TcpAddress {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError(`not a URL: ${url} (expected tcp://host:port)`);
  }
  if (u.protocol !== 'tcp:') throw new TypeError(`expected tcp://host:port, got ${u.protocol}//`);
  if (!u.hostname) throw new TypeError(`no host in ${url}`);
  if (!u.port) throw new TypeError(`no port in ${url}`);
  if (u.pathname && u.pathname !== '/') throw new TypeError(`unexpected path in ${url}`);
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return { host, port: Number(u.port) };
}

export function isTcpUrl(path: string): boolean {
  return path.startsWith('tcp://');
}

export interface TcpTransportOptions extends TcpAddress {
  /** open() rejects after this long without a connection; default 3000 ms. */
  connectTimeoutMs?: number;
  keepAliveMs?: number;
}

export class TcpTransport implements Transport {
  readonly description: string;
  private readonly events = new Emitter<TransportEvents>();
  private socket: Socket | null = null;
  private closing = false;

  constructor(
    private readonly options: TcpTransportOptions | null,
    socket?: Socket,
  ) {
    if (options) {
      this.description = `tcp://${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
    } else if (socket) {
      this.description = `tcp-peer:${socket.remoteAddress}:${socket.remotePort}`;
      this.attach(socket);
    } else {
      throw new TypeError('TcpTransport needs an address or a connected socket');
    }
  }

  static fromUrl(url: string, extra: Omit<TcpTransportOptions, 'host' | 'port'> = {}): TcpTransport {
    return new TcpTransport({ ...parseTcpUrl(url), ...extra });
  }

  /** Wraps a connected socket (a server's accepted connection; the pad simulator's end in tests). */
  static fromSocket(socket: Socket): TcpTransport {
    return new TcpTransport(null, socket);
  }

  get isOpen(): boolean {
    return this.socket !== null && !this.socket.destroyed;
  }

  async open(): Promise<void> {
    if (this.socket) return;
    const opts = this.options;
    if (!opts) throw new TransportClosedError(this.description); // a wrapped socket cannot reopen
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: opts.host, port: opts.port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`${this.description}: no connection within ${opts.connectTimeoutMs ?? 3000} ms`));
      }, opts.connectTimeoutMs ?? 3000);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        s.destroy();
        reject(err);
      });
    });
    socket.setKeepAlive(true, opts.keepAliveMs ?? 5000);
    this.attach(socket);
  }

  private attach(socket: Socket): void {
    socket.setNoDelay(true);
    this.socket = socket;
    this.closing = false;
    let lastError: Error | undefined;
    socket.on('data', (chunk: Buffer) => {
      this.events.emit('data', new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    });
    socket.on('error', (err) => {
      lastError = err;
      this.events.emit('error', err);
    });
    socket.on('end', () => socket.end()); // the peer half-closed: finish our side too
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = null;
      const info: TransportCloseInfo = { disconnected: !this.closing };
      if (lastError) info.error = lastError;
      else if (!this.closing) info.error = new Error(`${this.description} closed by the peer`);
      this.events.emit('close', info);
    });
  }

  async close(): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    this.closing = true;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.destroy();
    });
  }

  async write(bytes: Uint8Array): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.destroyed) throw new TransportClosedError(this.description);
    await new Promise<void>((resolve, reject) => {
      socket.write(bytes, (err) => (err ? reject(err) : resolve()));
    });
  }

  on<K extends keyof TransportEvents>(event: K, listener: TransportEvents[K]): () => void {
    return this.events.on(event, listener);
  }
}
