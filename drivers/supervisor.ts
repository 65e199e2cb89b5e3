/**
 * PadSupervisor: owns one pad (EVP/1, or KEYLINE with `codec: 'keyline'`) and keeps it
 * connected, forever, until stop().
 *
 * - Every connection is a fresh transport (`makeTransport()`) and a fresh HostLink. When the link
 *   goes `down` (transport closed = unplug or read error; 3 unanswered PINGs = silent unplug; a
 *   host frame never ACKed), the link is closed and reopened after a backoff of 100 ms doubling
 *   to 5 s; the backoff returns to 100 ms once a HELLO brings the link `up`.
 * - Stuck keys (`stuck-key.ts`): FAULT code 1, or one key repeating for ≥ 3 s, raises `alarm`;
 *   the stuck presses go to `onSuppressedKey` (default: answer 1 without committing) instead of
 *   `onKey`, until the alarm is released (`alarm-cleared`). A press answered that way that the
 *   pad re-sends later (after a reconnect) is answered the same way again, never as a rating.
 * - Counters add up over all connections (frames, bad CRCs, resyncs, dropped bytes,
 *   retransmits, reconnects, suppressed presses); `recentFrames()` keeps the last 200 raw frames
 *   across connections, for the diagnostics screen.
 */

import type { KeyStatusCode } from './evp1/frames.ts';
import {
  type DeviceInfo,
  HostLink,
  type HostLinkCounters,
  type HostLinkOptions,
  type KeyPress,
  type LinkState,
} from './evp1/host-link.ts';
import { type FrameRecord, FrameRing, RING_SIZE } from './evp1/link-common.ts';
import { KeylineLink } from './keyline/keyline-link.ts';
import { type StuckKeyAlarm, StuckKeyDetector, type StuckKeyOptions } from './stuck-key.ts';
import type { Transport } from './transports/types.ts';
import { type Clock, type Logger, silentLogger, systemClock } from './util/clock.ts';
import { Emitter } from './util/emitter.ts';

export const MIN_BACKOFF_MS = 100;
export const MAX_BACKOFF_MS = 5000;
/** Presses answered as stuck, remembered so a re-sent one is answered the same way. */
const SUPPRESSED_MEMORY = 1000;

export type SupervisorState = LinkState | 'stopped';

export interface SupervisorCounters {
  frames: number;
  badCrc: number;
  resyncs: number;
  droppedBytes: number;
  retransmits: number;
  /** Connection attempts after the first one. */
  reconnects: number;
  /** Presses answered as stuck instead of being rated. */
  stuckPresses: number;
}

export interface PadSupervisorOptions {
  /**
   * `evp1` (default) or `keyline`. A KEYLINE pad has no ACK and no liveness: its link is `up`
   * while the port is open, and a silent unplug is not noticed (pad-protocol.md accepts that).
   */
  codec?: 'evp1' | 'keyline';
  /** A fresh transport for every connection attempt. */
  makeTransport: () => Transport;
  /** Commits a press (see HostLink: ACK after commit). */
  onKey: (press: KeyPress) => Promise<KeyStatusCode>;
  /** A press of a stuck key: record it as not a rating. Default: answer 1 without recording. */
  onSuppressedKey?: (press: KeyPress, reason: 'stuck_key') => Promise<KeyStatusCode>;
  /** boot_id last seen (from the store). */
  lastBootId?: number | null;
  clock?: Clock;
  log?: Logger;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  stuck?: StuckKeyOptions;
  /** Passed to every HostLink (ping interval, retransmit timing …) */
  link?: Omit<HostLinkOptions, 'transport' | 'onKey' | 'clock' | 'log' | 'lastBootId'>;
}

export type PadSupervisorEvents = {
  state: (state: SupervisorState, reason: string) => void;
  /** The link is up (HELLO received): send the pad its display state. */
  up: (link: HostLink) => void;
  'power-cycled': (change: { previousBootId: number; bootId: number }) => void;
  alarm: (alarm: StuckKeyAlarm) => void;
  'alarm-cleared': (alarm: StuckKeyAlarm) => void;
  fault: (fault: { code: number; detail: string }) => void;
  frame: (record: FrameRecord) => void;
};

const ZERO: Omit<SupervisorCounters, 'reconnects' | 'stuckPresses'> = {
  frames: 0,
  badCrc: 0,
  resyncs: 0,
  droppedBytes: 0,
  retransmits: 0,
};

export class PadSupervisor {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly events: Emitter<PadSupervisorEvents>;
  private readonly ring = new FrameRing(RING_SIZE);
  private readonly detector: StuckKeyDetector;
  private readonly suppressed = new Set<string>();
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private link_: HostLink | null = null;
  private keyline_: KeylineLink | null = null;
  private state_: SupervisorState = 'down';
  private started = false;
  private stopped = false;
  private backoffMs: number;
  private reconnectTimer: unknown = null;
  private releaseTimer: unknown = null;
  private attempts = 0;
  private stuckPresses = 0;
  private lastBootId: number | null;
  /** Counters of the connections already closed. */
  private past = { ...ZERO };

  constructor(private readonly options: PadSupervisorOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? silentLogger;
    this.minBackoffMs = options.minBackoffMs ?? MIN_BACKOFF_MS;
    this.maxBackoffMs = options.maxBackoffMs ?? MAX_BACKOFF_MS;
    this.backoffMs = this.minBackoffMs;
    this.lastBootId = options.lastBootId ?? null;
    this.detector = new StuckKeyDetector(options.stuck);
    this.events = new Emitter<PadSupervisorEvents>((err) =>
      this.log.error({ err: String(err) }, 'pad supervisor: event listener threw'),
    );
  }

  get state(): SupervisorState {
    return this.state_;
  }

  /** The current connection's EVP/1 link; null between connections (and for KEYLINE). */
  get link(): HostLink | null {
    return this.link_;
  }

  /** The current connection's KEYLINE link (codec `keyline`); null between connections. */
  get keylineLink(): KeylineLink | null {
    return this.keyline_;
  }

  get device(): DeviceInfo | null {
    return this.link_?.device ?? null;
  }

  /** EVP/1: the pad's boot_id; KEYLINE: the connection id its presses carry as boot_id. */
  get bootId(): number | null {
    return this.link_?.device?.bootId ?? this.keyline_?.connectionId ?? this.lastBootId;
  }

  get alarm(): StuckKeyAlarm | null {
    return this.detector.alarm;
  }

  get counters(): SupervisorCounters {
    const now: Partial<HostLinkCounters> = this.link_?.counters ?? this.keylineCounters(this.keyline_);
    return {
      frames: this.past.frames + (now.frames ?? 0),
      badCrc: this.past.badCrc + (now.badCrc ?? 0),
      resyncs: this.past.resyncs + (now.resyncs ?? 0),
      droppedBytes: this.past.droppedBytes + (now.droppedBytes ?? 0),
      retransmits: this.past.retransmits + (now.retransmits ?? 0),
      reconnects: Math.max(0, this.attempts - 1),
      stuckPresses: this.stuckPresses,
    };
  }

  private keylineCounters(link: KeylineLink | null): Partial<HostLinkCounters> {
    if (!link) return {};
    const c = link.counters;
    // A key line is a frame; a junk line is the KEYLINE analogue of a resync.
    return { frames: c.keys, resyncs: c.junkLines, droppedBytes: c.droppedBytes };
  }

  /** The last 200 frames in both directions over all connections, oldest first. */
  recentFrames(): FrameRecord[] {
    return this.ring.snapshot();
  }

  on<K extends keyof PadSupervisorEvents>(event: K, listener: PadSupervisorEvents[K]): () => void {
    return this.events.on(event, listener);
  }

  /** Starts connecting in the background; never throws. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    void this.connect();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of [this.reconnectTimer, this.releaseTimer]) if (t !== null) this.clock.clearTimeout(t);
    this.reconnectTimer = null;
    this.releaseTimer = null;
    const link = this.link_;
    if (link) this.retire(link);
    await link?.close().catch(() => {});
    const keyline = this.keyline_;
    if (keyline) this.retireKeyline(keyline);
    await keyline?.close().catch(() => {});
    this.setState('stopped', 'stopped');
  }

  private async connect(): Promise<void> {
    this.reconnectTimer = null;
    if (this.stopped) return;
    this.attempts++;
    let transport: Transport;
    try {
      transport = this.options.makeTransport();
    } catch (err) {
      this.log.warn({ err: String(err) }, 'pad supervisor: cannot make a transport');
      this.setState('down', 'no transport');
      this.scheduleReconnect();
      return;
    }
    if (this.options.codec === 'keyline') {
      await this.connectKeyline(transport);
      return;
    }
    const link = new HostLink({
      ...this.options.link,
      transport,
      clock: this.clock,
      log: this.log,
      lastBootId: this.lastBootId,
      onKey: (press) => this.handleKey(press),
    });
    this.link_ = link;
    link.on('state', (state, reason) => {
      if (this.link_ !== link) return;
      if (state === 'down') {
        this.drop(link, reason);
        return;
      }
      if (state === 'up') {
        this.backoffMs = this.minBackoffMs;
        this.lastBootId = link.device?.bootId ?? this.lastBootId;
      }
      this.setState(state, reason);
      if (state === 'up') this.events.emit('up', link);
    });
    link.on('power-cycled', (change) => {
      const released = this.detector.reset();
      if (released) this.released(released);
      this.events.emit('power-cycled', change);
    });
    link.on('fault', (fault) => {
      if (fault.code === 1) {
        this.releaseIfQuiet();
        const raised = this.detector.fault(this.clock.now(), fault.detail);
        if (raised) this.raised(raised);
        this.armRelease();
      }
      this.events.emit('fault', fault);
    });
    link.on('frame', (record) => {
      this.ring.push(record);
      this.events.emit('frame', record);
    });
    link.on('error', () => {}); // surfaced through state and counters
    this.setState('connecting', `opening ${transport.description}`);
    try {
      await link.open();
    } catch (err) {
      if (this.link_ === link) this.drop(link, `cannot open: ${(err as Error).message}`);
    }
  }

  private async connectKeyline(transport: Transport): Promise<void> {
    const link = new KeylineLink({
      transport,
      clock: this.clock,
      log: this.log,
      lastBootId: this.lastBootId,
      onKey: (press) => this.handleKey(press),
    });
    this.keyline_ = link;
    link.on('state', (state, reason) => {
      if (this.keyline_ !== link) return;
      if (state === 'down') {
        this.retireKeyline(link);
        void link.close().catch(() => {});
        this.setState('down', reason);
        this.scheduleReconnect();
        return;
      }
      this.backoffMs = this.minBackoffMs;
      this.lastBootId = link.connectionId ?? this.lastBootId;
      this.setState(state, reason);
    });
    link.on('frame', (record) => {
      this.ring.push(record);
      this.events.emit('frame', record);
    });
    link.on('error', () => {});
    this.setState('connecting', `opening ${transport.description}`);
    try {
      await link.open();
    } catch (err) {
      if (this.keyline_ !== link) return;
      this.retireKeyline(link);
      this.setState('down', `cannot open: ${(err as Error).message}`);
      this.scheduleReconnect();
    }
  }

  private retireKeyline(link: KeylineLink): void {
    if (this.keyline_ !== link) return;
    const c = this.keylineCounters(link);
    this.past = {
      ...this.past,
      frames: this.past.frames + (c.frames ?? 0),
      resyncs: this.past.resyncs + (c.resyncs ?? 0),
      droppedBytes: this.past.droppedBytes + (c.droppedBytes ?? 0),
    };
    this.keyline_ = null;
  }

  /** Ends one connection and schedules the next. */
  private drop(link: HostLink, reason: string): void {
    this.retire(link);
    void link.close().catch(() => {});
    this.setState('down', reason);
    this.scheduleReconnect();
  }

  private retire(link: HostLink): void {
    if (this.link_ !== link) return;
    const c = link.counters;
    this.past = {
      frames: this.past.frames + c.frames,
      badCrc: this.past.badCrc + c.badCrc,
      resyncs: this.past.resyncs + c.resyncs,
      droppedBytes: this.past.droppedBytes + c.droppedBytes,
      retransmits: this.past.retransmits + c.retransmits,
    };
    this.link_ = null;
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer !== null) return;
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.maxBackoffMs, this.backoffMs * 2);
    this.reconnectTimer = this.clock.setTimeout(() => void this.connect(), wait);
  }

  private async handleKey(press: KeyPress): Promise<KeyStatusCode> {
    const id = `${press.bootId}:${press.pressId}`;
    let stuck = this.suppressed.has(id);
    if (!stuck) {
      this.releaseIfQuiet();
      const verdict = this.detector.press(press.key, this.clock.now());
      if (verdict.raised) this.raised(verdict.raised);
      stuck = verdict.stuck;
      this.armRelease();
    }
    if (!stuck) return this.options.onKey(press);
    this.stuckPresses++;
    this.suppressed.add(id);
    if (this.suppressed.size > SUPPRESSED_MEMORY) {
      const oldest = this.suppressed.values().next().value;
      if (oldest !== undefined) this.suppressed.delete(oldest);
    }
    return this.options.onSuppressedKey ? this.options.onSuppressedKey(press, 'stuck_key') : 1;
  }

  private releaseIfQuiet(): void {
    const released = this.detector.tick(this.clock.now());
    if (released) this.released(released);
  }

  private raised(alarm: StuckKeyAlarm): void {
    this.log.warn(
      { key: alarm.key, source: alarm.source, detail: alarm.detail },
      'pad supervisor: stuck key',
    );
    this.events.emit('alarm', alarm);
  }

  private released(alarm: StuckKeyAlarm): void {
    this.log.info({ key: alarm.key, source: alarm.source }, 'pad supervisor: stuck key released');
    this.events.emit('alarm-cleared', alarm);
  }

  private armRelease(): void {
    if (this.releaseTimer !== null) this.clock.clearTimeout(this.releaseTimer);
    this.releaseTimer = null;
    const at = this.detector.releaseAtMs;
    if (at === null || this.stopped) return;
    this.releaseTimer = this.clock.setTimeout(
      () => {
        this.releaseTimer = null;
        const released = this.detector.tick(this.clock.now());
        if (released) this.released(released);
        else this.armRelease();
      },
      Math.max(0, at - this.clock.now()),
    );
  }

  private setState(state: SupervisorState, reason: string): void {
    if (this.state_ === state) return;
    this.state_ = state;
    this.events.emit('state', state, reason);
  }
}
