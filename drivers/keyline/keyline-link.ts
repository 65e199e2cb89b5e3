/**
 * The host end of a KEYLINE pad over any Transport: lines in, presses out, nothing sent back.
 *
 * **Press identity.** KEYLINE carries none, but the counter's store deduplicates every press by
 * `(boot_id, press_id)` forever, so each press must get a pair no earlier press had. The link
 * gives every connection (every open()) a **connection id**, used as `boot_id`, and numbers that
 * connection's presses from 1, as `press_id`:
 *
 *     connection id = max(last id + 1, Unix time in seconds)      (u32)
 *
 * `last id` is the previous connection's id in this process, or `lastBootId` from the store at
 * start-up. Seconds since 1970 never go back by a restart, and the `+ 1` covers several
 * reconnects within one second; seeding from the store covers a clock that was set back. A random
 * id would collide now and then (birthday bound: about 1 % after 10,000 connections), and a
 * collision silently turns a real press into a "repeat": a lost rating. Time-based ids stay far
 * from EVP/1 boot ids only by chance (those are random u32), which the store's pad-path column
 * would have to disambiguate if one counter ever sees both kinds on one port.
 *
 * There is no ACK, so `onKey`'s status is only logged; the link cannot know whether the pad's
 * press reached it (pad-protocol.md: "records what it receives and monitors the port"). There is
 * no liveness either: the link is `up` while the port is open.
 */

import type { KeyHandler, KeyPress, LinkState } from '../evp1/host-link.ts';
import { type FrameRecord, FrameRing, RING_SIZE, recordOf } from '../evp1/link-common.ts';
import type { Transport, TransportCloseInfo } from '../transports/types.ts';
import { type Clock, type Logger, silentLogger, systemClock } from '../util/clock.ts';
import { Emitter } from '../util/emitter.ts';
import { encodeKeyLine, type KeylineCounters, KeylineDecoder } from './codec.ts';

/** See the file comment: max(last + 1, now in seconds), as a u32. */
export function nextConnectionId(last: number | null, nowMs: number): number {
  const seconds = Math.floor(nowMs / 1000) >>> 0;
  const next = last === null ? seconds : Math.max((last + 1) >>> 0, seconds);
  return next >>> 0 || 1;
}

export interface KeylineLinkOptions {
  transport: Transport;
  onKey: KeyHandler;
  clock?: Clock;
  log?: Logger;
  /** The last boot_id the store saw for this pad, so connection ids keep growing. */
  lastBootId?: number | null;
  ringSize?: number;
}

export type KeylineLinkEvents = {
  state: (state: LinkState, reason: string) => void;
  press: (press: KeyPress) => void;
  frame: (record: FrameRecord) => void;
  error: (err: Error) => void;
};

export class KeylineLink {
  private readonly transport: Transport;
  private readonly onKey: KeyHandler;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly events: Emitter<KeylineLinkEvents>;
  private readonly decoder = new KeylineDecoder();
  private readonly ring: FrameRing;
  private state_: LinkState = 'down';
  private lastId: number | null;
  private connectionId_: number | null = null;
  private pressId = 0;
  private openedAtMs = 0;
  private unsubscribe: (() => void)[] = [];
  private keyQueue: Promise<unknown> = Promise.resolve();
  private session = 0;

  constructor(options: KeylineLinkOptions) {
    this.transport = options.transport;
    this.onKey = options.onKey;
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? silentLogger;
    this.lastId = options.lastBootId ?? null;
    this.ring = new FrameRing(options.ringSize ?? RING_SIZE);
    this.events = new Emitter<KeylineLinkEvents>((err) =>
      this.log.error({ err: String(err) }, 'keyline: event listener threw'),
    );
  }

  get state(): LinkState {
    return this.state_;
  }

  /** The current connection's id (the `boot_id` of its presses); null while closed. */
  get connectionId(): number | null {
    return this.connectionId_;
  }

  get counters(): KeylineCounters {
    return { ...this.decoder.counters };
  }

  recentFrames(): FrameRecord[] {
    return this.ring.snapshot();
  }

  on<K extends keyof KeylineLinkEvents>(event: K, listener: KeylineLinkEvents[K]): () => void {
    return this.events.on(event, listener);
  }

  /** Opens the transport; the only method that throws (port cannot open). */
  async open(): Promise<void> {
    if (this.connectionId_ !== null) return;
    const session = ++this.session;
    this.unsubscribe = [
      this.transport.on('data', (bytes) => this.onData(bytes, session)),
      this.transport.on('close', (info) => this.onClose(info, session)),
      this.transport.on('error', (err) => this.events.emit('error', err)),
    ];
    try {
      await this.transport.open();
    } catch (err) {
      this.detach();
      throw err;
    }
    const id = nextConnectionId(this.lastId, this.clock.now());
    this.lastId = id;
    this.connectionId_ = id;
    this.pressId = 0;
    this.openedAtMs = this.clock.now();
    this.decoder.reset();
    this.setState('up', 'port open');
  }

  async close(): Promise<void> {
    const open = this.connectionId_ !== null;
    this.shutdown('closed');
    if (open) await this.transport.close();
  }

  private onData(bytes: Uint8Array, session: number): void {
    if (session !== this.session || this.connectionId_ === null) return;
    const bootId = this.connectionId_;
    for (const key of this.decoder.push(bytes)) {
      const now = this.clock.now();
      const rec = recordOf('rx', encodeKeyLine(key), now, `K${key}`);
      this.ring.push(rec);
      this.events.emit('frame', rec);
      const press: KeyPress = { bootId, pressId: ++this.pressId, key, uptimeMs: now - this.openedAtMs };
      this.events.emit('press', press);
      this.keyQueue = this.keyQueue.then(() => this.callKeyHandler(press));
    }
  }

  private async callKeyHandler(press: KeyPress): Promise<void> {
    try {
      const status = await this.onKey(press);
      if (status !== 0) this.log.info({ press, status }, 'keyline: press not rated');
    } catch (err) {
      this.log.error({ press, err: String(err) }, 'keyline: onKey threw');
    }
  }

  private onClose(info: TransportCloseInfo, session: number): void {
    if (session !== this.session) return;
    this.log.warn({ err: info.error?.message }, 'keyline: transport closed');
    this.shutdown(info.disconnected ? 'disconnected' : 'transport closed');
  }

  private shutdown(reason: string): void {
    this.session++;
    this.detach();
    if (this.connectionId_ !== null) this.decoder.reset();
    this.connectionId_ = null;
    this.setState('down', reason);
  }

  private setState(state: LinkState, reason: string): void {
    if (this.state_ === state) return;
    this.state_ = state;
    this.events.emit('state', state, reason);
  }

  private detach(): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
  }
}
