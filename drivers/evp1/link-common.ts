/**
 * What the host and device ends of EVP/1 share: SEQ allocation, reliable sends (same SEQ every
 * 300 ms, 5 retransmissions), repeat detection (byte-identical frame within 2 s), the frame ring.
 */

import type { Clock } from '../util/clock.ts';
import { buildFrame, encodePayload, FrameType, type Message, toHex } from './frames.ts';

export const RETRANSMIT_MS = 300;
export const MAX_RETRANSMITS = 5;
export const REPEAT_WINDOW_MS = 2000;
export const RING_SIZE = 200;

export type LinkErrorCode = 'LINK_CLOSED' | 'NO_ACK' | 'NAK' | 'BAD_MESSAGE';

export class LinkError extends Error {
  constructor(
    readonly code: LinkErrorCode,
    message: string,
    readonly nakReason?: number,
  ) {
    super(message);
    this.name = 'LinkError';
  }
}

export interface FrameRecord {
  dir: 'rx' | 'tx';
  /** Frame bytes as `A5 5A 01 …`. */
  hex: string;
  /** Clock time (ms) when sent or received. */
  atMs: number;
  /** Type name, or `0xNN` for an unknown type. */
  type: string;
}

/** Fixed-size ring of the last frames in both directions, oldest first. */
export class FrameRing {
  private readonly items: FrameRecord[] = [];

  constructor(private readonly size = RING_SIZE) {}

  push(record: FrameRecord): void {
    this.items.push(record);
    if (this.items.length > this.size) this.items.splice(0, this.items.length - this.size);
  }

  snapshot(): FrameRecord[] {
    return this.items.slice();
  }

  clear(): void {
    this.items.length = 0;
  }
}

/** SEQ 0..255 per side, from 0 at every (re)open; a SEQ still awaiting its ACK is skipped. */
export class SeqCounter {
  private next = 0;

  reset(): void {
    this.next = 0;
  }

  take(inUse: { has(seq: number): boolean }): number {
    for (let i = 0; i < 256; i++) {
      const seq = this.next;
      this.next = (this.next + 1) & 0xff;
      if (!inUse.has(seq)) return seq;
    }
    // 256 frames in flight cannot happen with a 6-send limit and human-rate traffic.
    throw new LinkError('BAD_MESSAGE', 'no free SEQ: 256 frames awaiting ACK');
  }
}

export interface Outgoing {
  seq: number;
  raw: Uint8Array;
  name: Message['type'];
  sends: number;
  timer: unknown;
  resolve(status: number): void;
  reject(err: LinkError): void;
  /** Made when the send starts, so a timeout keeps the caller's stack. */
  timeoutError: LinkError;
  /** No NAK ends this frame: each lets the retransmission timer carry on (see StartOptions). */
  keepOnNak: boolean;
}

export interface StartOptions {
  /**
   * For a frame the peer cannot mean to refuse: every NAK is treated as "busy". A pad's KEY is
   * one: every EVP/1 host reads KEY, and the pad built a valid payload, so a NAK 2 or 4 for its
   * SEQ can only answer a corrupted copy that passed the CRC-16 (about one corrupted frame in
   * 65,536) or a false frame found while resyncing. Giving the press up on it would lose a
   * press the line merely damaged; the 6-send budget still bounds it (then NO_ACK).
   */
  keepOnNak?: boolean;
}

export interface ReliableSenderHooks {
  clock: Clock;
  retransmitMs: number;
  maxRetransmits: number;
  /** Puts bytes on the wire (and in the ring). */
  write(raw: Uint8Array, name: Message['type']): void;
  /** Called when a frame went unACKed after its last retransmission. */
  onFailure(out: Outgoing): void;
  onRetransmit(out: Outgoing): void;
}

/** Frames awaiting ACK, each with its own retransmission timer. */
export class ReliableSender {
  readonly pending = new Map<number, Outgoing>();
  /** NAKs other than busy that did not end their frame (StartOptions.keepOnNak). */
  keptOnNak = 0;

  /** `takeSeq` gets the frames in flight, whose SEQs must not be reused. */
  constructor(
    private readonly takeSeq: (inFlight: ReadonlyMap<number, Outgoing>) => number,
    private readonly hooks: ReliableSenderHooks,
  ) {}

  /** Sends `msg` with a fresh SEQ; resolves with the ACK status. */
  send(msg: Message): Promise<number> {
    try {
      return this.start(msg).done;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Like send(), but tells the SEQ; throws a LinkError when `msg` cannot be encoded. */
  start(msg: Message, options: StartOptions = {}): { seq: number; done: Promise<number> } {
    const timeoutError = new LinkError(
      'NO_ACK',
      `${msg.type}: no ACK after ${1 + this.hooks.maxRetransmits} sends`,
    );
    let payload: Uint8Array;
    try {
      payload = encodePayload(msg);
    } catch (err) {
      throw new LinkError('BAD_MESSAGE', (err as Error).message);
    }
    // Taken only once the message is known to encode, so SEQs have no gaps.
    const seq = this.takeSeq(this.pending);
    const raw = buildFrame(seq, FrameType[msg.type], payload);
    let resolve!: (status: number) => void;
    let reject!: (err: LinkError) => void;
    const done = new Promise<number>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const out: Outgoing = {
      seq,
      raw,
      name: msg.type,
      sends: 0,
      timer: null,
      resolve,
      reject,
      timeoutError,
      keepOnNak: options.keepOnNak === true,
    };
    this.pending.set(seq, out);
    this.transmit(out);
    return { seq, done };
  }

  /** Settles the frame an ACK names; false when no frame awaits that SEQ (late or stray ACK). */
  ack(seq: number, status: number): boolean {
    const out = this.pending.get(seq);
    if (!out) return false;
    this.finish(out);
    out.resolve(status);
    return true;
  }

  /**
   * A NAK other than "busy" ends the frame, unless it was started with keepOnNak; "busy" lets the
   * retransmission timer carry on.
   */
  nak(seq: number, reason: number, busy: boolean): boolean {
    const out = this.pending.get(seq);
    if (!out) return false;
    if (busy) return true;
    if (out.keepOnNak) {
      this.keptOnNak++;
      return true;
    }
    this.finish(out);
    out.reject(new LinkError('NAK', `${out.name} refused with NAK reason ${reason}`, reason));
    return true;
  }

  /** Stops retransmitting one frame (another copy made it redundant); its promise rejects. */
  cancel(seq: number, reason: string): void {
    const out = this.pending.get(seq);
    if (!out) return;
    this.finish(out);
    out.reject(new LinkError('LINK_CLOSED', `${out.name}: ${reason}`));
  }

  /** Rejects everything in flight (link closed or restarted). */
  abortAll(reason: string): void {
    for (const out of [...this.pending.values()]) {
      this.finish(out);
      out.reject(new LinkError('LINK_CLOSED', `${out.name}: ${reason}`));
    }
  }

  private transmit(out: Outgoing): void {
    out.sends++;
    if (out.sends > 1) this.hooks.onRetransmit(out);
    this.hooks.write(out.raw, out.name);
    out.timer = this.hooks.clock.setTimeout(() => this.expired(out), this.hooks.retransmitMs);
  }

  private expired(out: Outgoing): void {
    if (this.pending.get(out.seq) !== out) return;
    if (out.sends <= this.hooks.maxRetransmits) {
      this.transmit(out);
      return;
    }
    this.finish(out);
    out.reject(out.timeoutError);
    this.hooks.onFailure(out);
  }

  private finish(out: Outgoing): void {
    if (out.timer !== null) this.hooks.clock.clearTimeout(out.timer);
    out.timer = null;
    this.pending.delete(out.seq);
  }
}

interface RepeatEntry<S> {
  lastSeenMs: number;
  /** The outcome, or the promise of it while the first copy is still being applied. */
  outcome: S | Promise<S>;
  settled: boolean;
}

/**
 * Receiver-side repeat detection: a byte-identical frame seen again within the window is not
 * applied again; the caller re-ACKs it with the remembered outcome.
 */
export class RepeatCache<S> {
  private readonly entries = new Map<string, RepeatEntry<S>>();

  constructor(
    private readonly windowMs = REPEAT_WINDOW_MS,
    private readonly clock: Clock,
  ) {}

  /** The earlier copy's entry when `raw` is a repeat; refreshes its window. */
  lookup(raw: Uint8Array): { outcome: S | Promise<S>; settled: boolean } | undefined {
    const now = this.clock.now();
    this.prune(now);
    const entry = this.entries.get(toHex(raw));
    if (!entry) return undefined;
    entry.lastSeenMs = now;
    return entry;
  }

  /** Remembers a frame being applied; `outcome` may still be pending. */
  remember(raw: Uint8Array, outcome: S | Promise<S>): void {
    const key = toHex(raw);
    const entry: RepeatEntry<S> = {
      lastSeenMs: this.clock.now(),
      outcome,
      settled: !(outcome instanceof Promise),
    };
    this.entries.set(key, entry);
    if (outcome instanceof Promise) {
      outcome.then(
        (value) => {
          entry.outcome = value;
          entry.settled = true;
          // The window restarts when the outcome is known, so a retransmission that crossed it is re-ACKed.
          entry.lastSeenMs = Math.max(entry.lastSeenMs, this.clock.now());
        },
        () => this.entries.delete(key),
      );
    }
  }

  clear(): void {
    this.entries.clear();
  }

  private prune(now: number): void {
    for (const [key, entry] of this.entries) {
      // Entries still being applied stay, or a late retransmission would apply the frame twice.
      if (entry.settled && now - entry.lastSeenMs > this.windowMs) this.entries.delete(key);
    }
  }
}

export function typeLabel(name: string | undefined, code: number): string {
  return name ?? `0x${code.toString(16).padStart(2, '0')}`;
}

export function recordOf(dir: 'rx' | 'tx', raw: Uint8Array, atMs: number, type: string): FrameRecord {
  return { dir, hex: toHex(raw), atMs, type };
}
