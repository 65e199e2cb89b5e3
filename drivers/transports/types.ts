/**
 * One byte-stream interface for serial, TCP and in-memory links (Uint8Array in and out, so the
 * link layer above needs no Node Buffer). Only open() and write() reject; everything that goes
 * wrong later arrives as an event. An unplugged device is a `close` with `disconnected: true`,
 * never a throw.
 */

export interface TransportCloseInfo {
  /** True when the transport closed without close() being called (unplug, read error, peer gone). */
  disconnected: boolean;
  error?: Error;
}

export type TransportEvents = {
  data: (bytes: Uint8Array) => void;
  /** Emitted once per successful open(), when the transport stops being open. */
  close: (info: TransportCloseInfo) => void;
  /** Non-fatal problems (a failed write, a close error). A fatal one also emits `close`. */
  error: (err: Error) => void;
};

export interface Transport {
  /** For logs and diagnostics, e.g. `serial:/dev/ttyUSB0@9600`. */
  readonly description: string;
  readonly isOpen: boolean;
  /** Rejects when the port cannot be opened (missing, busy, no permission). */
  open(): Promise<void>;
  /** Resolves when closed; closing a closed transport is a no-op. */
  close(): Promise<void>;
  /** Resolves once the bytes are handed to the OS; rejects when the transport is not open. */
  write(bytes: Uint8Array): Promise<void>;
  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof TransportEvents>(event: K, listener: TransportEvents[K]): () => void;
}

export class TransportClosedError extends Error {
  readonly code = 'TRANSPORT_CLOSED';
  constructor(description: string) {
    super(`${description} is not open`);
    this.name = 'TransportClosedError';
  }
}
