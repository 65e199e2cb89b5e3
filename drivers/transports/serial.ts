/**
 * Transport over node-serialport. The OS quirks live here and only here:
 * - `hupcl: false`: many pad boards reset when DTR drops, so closing must not hang up;
 * - the port is opened explicitly (`autoOpen: false`) so open errors reject open();
 * - after open, a read error or unplug arrives as `close` with `disconnected: true`, never a throw.
 */

import { SerialPort } from 'serialport';
import { Emitter } from '../util/emitter.ts';
import {
  type Transport,
  TransportClosedError,
  type TransportCloseInfo,
  type TransportEvents,
} from './types.ts';

export const DEFAULT_BAUD_RATE = 9600;

/** The part of a node-serialport port this transport uses (SerialPort and SerialPortMock both fit). */
export interface SerialPortLike {
  readonly isOpen: boolean;
  open(cb: (err: Error | null) => void): void;
  close(cb: (err: Error | null) => void): void;
  write(data: Uint8Array, cb: (err: Error | null | undefined) => void): boolean;
  on(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
  on(event: 'close', listener: (err?: Error | null) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  removeAllListeners(): unknown;
}

export interface SerialPortOpenSettings {
  path: string;
  baudRate: number;
  hupcl: false;
  autoOpen: false;
  lock: boolean;
}

export interface SerialTransportOptions {
  path: string;
  /** Default 9600 (EVP/1's default; 115200 by configuration). */
  baudRate?: number;
  /** Exclusive flock on the port; default true. */
  lock?: boolean;
  /** Injects the port (for example `(o) => new SerialPortMock(o)` in tests). */
  createPort?: (settings: SerialPortOpenSettings) => SerialPortLike;
}

export class SerialTransport implements Transport {
  readonly description: string;
  private readonly events = new Emitter<TransportEvents>();
  private port: SerialPortLike | null = null;
  private closing = false;

  constructor(private readonly options: SerialTransportOptions) {
    if (!options.path) throw new TypeError('SerialTransport: "path" is required');
    const baud = options.baudRate ?? DEFAULT_BAUD_RATE;
    if (!Number.isInteger(baud) || baud <= 0) throw new TypeError(`SerialTransport: bad "baudRate" ${baud}`);
    this.description = `serial:${options.path}@${baud}`;
  }

  get isOpen(): boolean {
    return this.port?.isOpen ?? false;
  }

  async open(): Promise<void> {
    if (this.port) return;
    const settings: SerialPortOpenSettings = {
      path: this.options.path,
      baudRate: this.options.baudRate ?? DEFAULT_BAUD_RATE,
      hupcl: false,
      autoOpen: false,
      lock: this.options.lock ?? true,
    };
    const port = this.options.createPort ? this.options.createPort(settings) : new SerialPort(settings);
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    this.port = port;
    this.closing = false;
    port.on('data', (chunk: Uint8Array) => {
      // A Buffer's slice() is a view; hand out a plain Uint8Array so consumers get array semantics.
      this.events.emit('data', new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    });
    port.on('error', (err: Error) => this.events.emit('error', err));
    port.on('close', (err?: Error | null) => {
      if (this.port !== port) return;
      this.port = null;
      port.removeAllListeners();
      // Swallow late errors from the dead port instead of letting an unhandled 'error' crash us.
      port.on('error', () => {});
      const info: TransportCloseInfo = { disconnected: !this.closing };
      if (err) info.error = err;
      else if (!this.closing) info.error = new Error(`${this.description} closed unexpectedly`);
      this.events.emit('close', info);
    });
  }

  async close(): Promise<void> {
    const port = this.port;
    if (!port) return;
    this.closing = true;
    await new Promise<void>((resolve) => {
      port.close((err) => {
        if (err) this.events.emit('error', err);
        resolve();
      });
    });
    if (this.port === port) {
      // The port refused to close cleanly and sent no 'close': drop it anyway.
      this.port = null;
      port.removeAllListeners();
      port.on('error', () => {});
      this.events.emit('close', { disconnected: false });
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    const port = this.port;
    if (!port?.isOpen) throw new TransportClosedError(this.description);
    await new Promise<void>((resolve, reject) => {
      port.write(bytes, (err) => (err ? reject(err) : resolve()));
    });
  }

  on<K extends keyof TransportEvents>(event: K, listener: TransportEvents[K]): () => void {
    return this.events.on(event, listener);
  }
}
