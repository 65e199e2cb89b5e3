/**
 * The frame loop both ends of EVP/1 run (host-link.ts, sim/pad-simulator.ts): bytes → decoder
 * (with the 50 ms poll on a quiet line) → record → decode → NAK a bad payload / unknown or
 * wrong-direction TYPE → settle ACK/NAK against the reliable sender → re-ACK a byte-identical
 * repeat within 2 s → dispatch a new frame to the owner. Sending shares the SEQ counter, the
 * reliable sender (300 ms × 5), the frame ring and one ordered write queue.
 *
 * What differs per end stays with the owner, as hooks: what a good frame means (liveness on the
 * host, "say HELLO again" on the pad), how a new frame is applied (the owner ACKs it), stray ACKs.
 * Gating by session/power state is the owner's too: it calls receive() only while it listens and
 * newEpoch() whenever it opens, closes or powers up, so a poll started before is ignored.
 */

import type { Transport } from '../transports/types.ts';
import type { Clock, Logger } from '../util/clock.ts';
import { type DecoderCounters, FrameDecoder, INTER_BYTE_TIMEOUT_MS } from './decoder.ts';
import { decodeFrame, encodeFrame, type Frame, frameTypeName, type Message, NakReason } from './frames.ts';
import {
  type FrameRecord,
  FrameRing,
  type Outgoing,
  ReliableSender,
  RepeatCache,
  recordOf,
  SeqCounter,
  typeLabel,
} from './link-common.ts';

export interface LinkCoreHooks {
  /** A frame that decoded, any TYPE, before it is handled. */
  onGoodFrame?(msg: Message, frame: Frame): void;
  /** A new (not repeated) frame of an accepted TYPE: the owner applies it and ACKs it. */
  dispatch(frame: Frame, msg: Message): void;
  /** An ACK no frame in flight waits for. */
  onStrayAck?(seq: number, status: number): void;
  /** A frame with a good CRC whose payload did not decode; called before it is NAKed. */
  onBadPayload?(frame: Frame, detail: string): void;
  /** A malformed ACK/NAK: counted and ignored, since NAKing it could start a NAK ping-pong. */
  onBadAckNak?(detail: string): void;
  onRetransmit?(out: Outgoing): void;
  /** A reliable frame went unACKed after its last retransmission (its promise has rejected). */
  onFailure(out: Outgoing): void;
  /** A frame was recorded in the ring (either direction). */
  onRecord?(record: FrameRecord): void;
  onWriteError?(err: Error, type: string): void;
  /** An unreliable frame could not be encoded (a bug: the owner built it). */
  onSendError?(err: unknown, type: string): void;
  onHandlerError?(err: unknown): void;
  /** SEQs the owner keeps reserved besides those in flight (the pad's failed presses). */
  seqReserved?(seq: number): boolean;
}

export interface LinkCoreOptions {
  transport: Transport;
  clock: Clock;
  log: Logger;
  /** TYPEs this end receives (DEVICE_TYPES on the host, HOST_TYPES on the pad); others get NAK 2. */
  accepts: ReadonlySet<string>;
  retransmitMs: number;
  maxRetransmits: number;
  repeatWindowMs: number;
  ringSize?: number;
  hooks: LinkCoreHooks;
}

export interface LinkCoreCounters {
  framesIn: number;
  framesOut: number;
  retransmits: number;
  naksSent: number;
  naksReceived: number;
  /** Byte-identical frames re-ACKed without being applied again. */
  repeats: number;
  /** ACK, NAK, PING and probe frames not sent because MAX_QUEUED_UNRELIABLE were waiting. */
  unreliableDropped: number;
}

/**
 * Unreliable frames (ACK, NAK, PING, probes) waiting to be written, at most. A pad that answers
 * every NAK with more garbage made the host queue NAKs faster than the line took them, without
 * bound; when the link then closed, every queued write failed in one run of the event loop, a
 * stall of 200–600 ms (tests/drivers/flood-pty.test.ts). Dropping one is what a lossy line does
 * anyway: a reliable frame whose ACK is lost is sent again and its repeat is re-ACKed, a lost
 * NAK or PING is a timeout on the other end. 256 frames are seconds of a 9600-baud line, so a
 * working pad never comes near it. Reliable frames are never dropped here.
 */
export const MAX_QUEUED_UNRELIABLE = 256;

export class LinkCore {
  readonly decoder = new FrameDecoder();
  readonly seq = new SeqCounter();
  readonly ring: FrameRing;
  readonly sender: ReliableSender;
  /** Outcome of each frame applied recently, for re-ACKing its repeats. */
  readonly repeats: RepeatCache<number>;
  readonly stats: LinkCoreCounters = {
    framesIn: 0,
    framesOut: 0,
    retransmits: 0,
    naksSent: 0,
    naksReceived: 0,
    repeats: 0,
    unreliableDropped: 0,
  };

  private readonly transport: Transport;
  private readonly clock: Clock;
  private readonly accepts: ReadonlySet<string>;
  private readonly hooks: LinkCoreHooks;
  private writeQueue: Promise<void> = Promise.resolve();
  /** Unreliable frames queued and not yet written (see MAX_QUEUED_UNRELIABLE). */
  private queuedUnreliable = 0;
  private pollTimer: unknown = null;
  private epoch = 0;

  constructor(options: LinkCoreOptions) {
    this.transport = options.transport;
    this.clock = options.clock;
    this.accepts = options.accepts;
    this.hooks = options.hooks;
    this.ring = new FrameRing(options.ringSize);
    this.repeats = new RepeatCache<number>(options.repeatWindowMs, this.clock);
    this.sender = new ReliableSender(() => this.takeSeq(), {
      clock: this.clock,
      retransmitMs: options.retransmitMs,
      maxRetransmits: options.maxRetransmits,
      write: (raw, name) => this.write(raw, name),
      onRetransmit: (out) => {
        this.stats.retransmits++;
        this.hooks.onRetransmit?.(out);
      },
      onFailure: (out) => this.hooks.onFailure(out),
    });
  }

  get decoderCounters(): DecoderCounters {
    return this.decoder.counters;
  }

  /** A fresh SEQ, skipping those in flight and those the owner reserves. */
  takeSeq(): number {
    const reserved = this.hooks.seqReserved;
    const pending = this.sender.pending;
    return this.seq.take(reserved ? { has: (s) => pending.has(s) || reserved(s) } : pending);
  }

  /** Starts a new session: a poll scheduled before is dropped. */
  newEpoch(): void {
    this.epoch++;
    if (this.pollTimer !== null) this.clock.clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  // ------------------------------------------------------------------------------------------
  // Receiving

  receive(bytes: Uint8Array): void {
    this.handleFrames(this.decoder.push(bytes, this.clock.now()));
    if (this.pollTimer !== null) this.clock.clearTimeout(this.pollTimer);
    this.pollTimer = null;
    if (this.decoder.buffered > 0) {
      // Release a frame hidden behind a false header even if the line then stays quiet.
      const epoch = this.epoch;
      this.pollTimer = this.clock.setTimeout(() => {
        this.pollTimer = null;
        if (epoch === this.epoch) this.handleFrames(this.decoder.poll(this.clock.now()));
      }, INTER_BYTE_TIMEOUT_MS + 1);
    }
  }

  private handleFrames(frames: Frame[]): void {
    for (const frame of frames) {
      try {
        this.handleFrame(frame);
      } catch (err) {
        // A bug here must cost one frame, not the link.
        this.hooks.onHandlerError?.(err);
      }
    }
  }

  private handleFrame(frame: Frame): void {
    this.stats.framesIn++;
    const name = frameTypeName(frame.type);
    this.record('rx', frame.raw, typeLabel(name, frame.type));
    const decoded = decodeFrame(frame);
    if (!decoded.ok) {
      if (name === 'ACK' || name === 'NAK') {
        this.hooks.onBadAckNak?.(decoded.detail);
        return;
      }
      this.hooks.onBadPayload?.(frame, decoded.detail);
      this.sendNak(frame.seq, decoded.reason);
      return;
    }
    const msg = decoded.message;
    this.hooks.onGoodFrame?.(msg, frame);

    if (msg.type === 'ACK') {
      if (!this.sender.ack(msg.ackedSeq, msg.status)) this.hooks.onStrayAck?.(msg.ackedSeq, msg.status);
      return;
    }
    if (msg.type === 'NAK') {
      this.stats.naksReceived++;
      this.sender.nak(msg.seq, msg.reason, msg.reason === NakReason.BUSY);
      return;
    }
    if (!this.accepts.has(msg.type)) {
      this.sendNak(frame.seq, NakReason.UNKNOWN_TYPE);
      return;
    }
    const repeat = this.repeats.lookup(frame.raw);
    if (repeat) {
      this.stats.repeats++;
      // Still being applied: its ACK goes out when it settles; one frame, one status.
      if (repeat.settled) this.sendAck(frame.seq, repeat.outcome as number);
      return;
    }
    this.hooks.dispatch(frame, msg);
  }

  // ------------------------------------------------------------------------------------------
  // Sending

  /** Records and queues raw bytes; writes go out in order, a failed one does not stop the rest. */
  write(raw: Uint8Array, type: string): Promise<void> {
    this.stats.framesOut++;
    this.record('tx', raw, type);
    const transport = this.transport;
    this.writeQueue = this.writeQueue.then(() =>
      transport.write(raw).catch((err: Error) => this.hooks.onWriteError?.(err, type)),
    );
    return this.writeQueue;
  }

  /** ACK, NAK, PING and probes: one send, no retransmission; dropped while the queue is full. */
  sendUnreliable(msg: Message): void {
    if (this.queuedUnreliable >= MAX_QUEUED_UNRELIABLE) {
      this.stats.unreliableDropped++;
      return;
    }
    try {
      const raw = encodeFrame(this.takeSeq(), msg);
      this.queuedUnreliable++;
      void this.write(raw, msg.type).finally(() => {
        this.queuedUnreliable--;
      });
    } catch (err) {
      this.hooks.onSendError?.(err, msg.type);
    }
  }

  sendAck(ackedSeq: number, status: number): void {
    this.sendUnreliable({ type: 'ACK', ackedSeq, status });
  }

  sendNak(seq: number, reason: number): void {
    this.stats.naksSent++;
    this.sendUnreliable({ type: 'NAK', seq, reason });
  }

  private record(dir: 'rx' | 'tx', raw: Uint8Array, type: string): void {
    const rec = recordOf(dir, raw, this.clock.now(), type);
    this.ring.push(rec);
    this.hooks.onRecord?.(rec);
  }
}
