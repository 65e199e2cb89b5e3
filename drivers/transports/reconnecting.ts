/**
 * A Transport that stays "open" across the loss of the one below it: when the inner transport
 * closes or cannot be opened, it reopens a fresh one with exponential backoff, forever, until
 * close(). Writes while the inner link is down are dropped, as bytes sent into an unplugged cable
 * would be. The pad simulator runs on this so it survives its pty pair being recreated.
 */

import { type Clock, type Logger, silentLogger, systemClock } from '../util/clock.ts';
import { Emitter } from '../util/emitter.ts';
import type { Transport, TransportEvents } from './types.ts';

export interface ReconnectingTransportOptions {
  /** Makes a fresh inner transport for every attempt. */
  create: () => Transport;
  description?: string;
  minDelayMs?: number;
  maxDelayMs?: number;
  clock?: Clock;
  log?: Logger;
}

type ReconnectingEvents = TransportEvents & {
  /** The inner link came up (true) or went down (false). */
  connection: (up: boolean) => void;
};

export class ReconnectingTransport implements Transport {
  readonly description: string;
  private readonly events = new Emitter<ReconnectingEvents>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private inner: Transport | null = null;
  private unsubscribe: (() => void)[] = [];
  private wanted = false;
  private timer: unknown = null;
  private delayMs: number;
  private attempts = 0;

  constructor(private readonly options: ReconnectingTransportOptions) {
    this.description = options.description ?? 'reconnecting';
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? silentLogger;
    this.delayMs = options.minDelayMs ?? 100;
  }

  get isOpen(): boolean {
    return this.wanted;
  }

  /** True while the inner transport is open. */
  get connected(): boolean {
    return this.inner?.isOpen ?? false;
  }

  /** Resolves at once; the inner link is (re)opened in the background until close(). */
  async open(): Promise<void> {
    if (this.wanted) return;
    this.wanted = true;
    await this.attempt();
  }

  async close(): Promise<void> {
    this.wanted = false;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    const inner = this.inner;
    this.detach();
    if (inner) await inner.close().catch(() => {});
    this.events.emit('close', { disconnected: false });
  }

  /**
   * Drops the inner link and reopens it (with the usual backoff), e.g. when the device behind the
   * path was replaced without the old one ever reporting an error.
   */
  recycle(reason = 'recycled'): void {
    const inner = this.inner;
    if (!inner) return;
    this.log.warn({ reason }, `${this.description}: reopening`);
    void inner.close().catch(() => {});
  }

  async write(bytes: Uint8Array): Promise<void> {
    const inner = this.inner;
    if (!inner?.isOpen) return;
    await inner.write(bytes).catch((err: Error) => this.events.emit('error', err));
  }

  on<K extends keyof ReconnectingEvents>(event: K, listener: ReconnectingEvents[K]): () => void {
    return this.events.on(event, listener);
  }

  private async attempt(): Promise<void> {
    this.timer = null;
    if (!this.wanted) return;
    this.attempts++;
    const inner = this.options.create();
    try {
      await inner.open();
    } catch (err) {
      if (this.attempts === 1 || this.attempts % 20 === 0) {
        this.log.warn(
          { err: String(err), attempts: this.attempts },
          `${this.description}: open failed, retrying`,
        );
      }
      this.schedule();
      return;
    }
    if (!this.wanted) {
      await inner.close().catch(() => {});
      return;
    }
    this.inner = inner;
    this.attempts = 0;
    this.delayMs = this.options.minDelayMs ?? 100;
    this.unsubscribe = [
      inner.on('data', (bytes) => this.events.emit('data', bytes)),
      inner.on('error', (err) => this.events.emit('error', err)),
      inner.on('close', (info) => {
        if (this.inner !== inner) return;
        this.detach();
        this.log.warn({ err: info.error?.message }, `${this.description}: link lost, reopening`);
        this.events.emit('connection', false);
        this.schedule();
      }),
    ];
    this.log.info({}, `${this.description}: link open`);
    this.events.emit('connection', true);
  }

  private schedule(): void {
    if (!this.wanted || this.timer !== null) return;
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, this.options.maxDelayMs ?? 2000);
    this.timer = this.clock.setTimeout(() => void this.attempt(), delay);
  }

  private detach(): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    this.inner = null;
  }
}
