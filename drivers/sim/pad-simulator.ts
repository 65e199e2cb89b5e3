/**
 * The DEVICE end of EVP/1: a simulated five-key pad over any Transport. Used by the driver tests,
 * the `haocha pad-sim` CLI (see pty-pad.ts) and the demo.
 *
 * Behaviour (pad-protocol.md): HELLO at power-up, KEYs held until that HELLO is ACKed; GET_INFO ⇒
 * ACK, HELLO; PING ⇒ ACK, PONG; host frames are ACKed, applied once (byte-identical repeats within
 * 2 s are only re-ACKed) and kept for inspection; KEY retransmits every 300 ms, 5 times at most.
 *
 * DESIGN CHOICE: a press whose 6 sends all went unanswered is NOT dropped. It stays pending (the
 * pad shows its error light) and is re-sent with the SAME boot_id/press_id (fresh SEQ) once the
 * next HELLO is ACKed. A host that restarts between committing a press and ACKing it therefore
 * neither loses nor doubles it: it sees the press again and deduplicates by (boot_id, press_id).
 * After a failure the pad sends that HELLO as soon as it hears any frame from the host (a new
 * host's GET_INFO, a PING); a late ACK for the failed SEQ still settles the press. Only a power
 * cycle loses pending presses, as on a real pad.
 */

import { type Frame, HOST_TYPES, type Key, type KeyStatusCode, type Message } from '../evp1/frames.ts';
import {
  type FrameRecord,
  LinkError,
  MAX_RETRANSMITS,
  REPEAT_WINDOW_MS,
  RETRANSMIT_MS,
} from '../evp1/link-common.ts';
import { LinkCore } from '../evp1/link-core.ts';
import type { Transport } from '../transports/types.ts';
import { type Clock, type Logger, silentLogger, systemClock } from '../util/clock.ts';
import { Emitter } from '../util/emitter.ts';

export interface PadSimulatorOptions {
  transport: Transport;
  /** Boot id of the first power-up; random (from `seed` if given) by default. */
  bootId?: number;
  model?: string;
  firmware?: string;
  serial?: string;
  caps?: number;
  /** Makes boot ids (and runPadSim's random keys) reproducible. */
  seed?: number;
  clock?: Clock;
  log?: Logger;
  retransmitMs?: number;
  maxRetransmits?: number;
  repeatWindowMs?: number;
}

export interface PressResult {
  status: KeyStatusCode;
  pressId: number;
}

/** What the host has told the pad to show, for inspection by tests and the demo. */
export interface PadDisplay {
  lastArm: { seconds: number; caseRef: string } | null;
  disarmed: boolean;
  lastPrompt: number | null;
  lastMode: number | null;
  lastStaff: { staffNo: string; name: string; window: string } | null;
  text: Record<number, string>;
  errorLight: boolean;
}

export interface PadSimulatorCounters {
  framesIn: number;
  framesOut: number;
  retransmits: number;
  naksSent: number;
  /** NAKs from the host, busy ones included (a host waiting for the HELLO of a new link). */
  naksReceived: number;
  /** NAKs other than busy naming a KEY: the host read a damaged copy; the press was kept (sendPress). */
  keyNaksKept: number;
  repeats: number;
  badCrc: number;
  resyncs: number;
}

export type PadSimulatorEvents = {
  /** A host frame was applied (repeats are not reported again). */
  'host-message': (msg: Message) => void;
  /** A press got its ACK. */
  press: (result: PressResult & { key: Key }) => void;
  'error-light': (on: boolean) => void;
  frame: (record: FrameRecord) => void;
};

interface PendingPress {
  pressId: number;
  key: Key;
  uptimeMs: number;
  /** SEQ of the last send while it is in flight or failed (a late ACK for it still counts). */
  seq: number | null;
  inFlight: boolean;
  resolve(result: PressResult): void;
  reject(err: Error): void;
}

/** mulberry32: tiny, seedable, good enough for boot ids and demo key choices. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomSeed(): number {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0] as number;
}

export class PadSimulator {
  readonly model: string;
  readonly firmware: string;
  readonly serial: string;
  readonly caps: number;
  /** Seeded PRNG shared with runPadSim's random keys. */
  readonly random: () => number;

  private readonly transport: Transport;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly events: Emitter<PadSimulatorEvents>;
  private readonly core: LinkCore;

  private bootId_: number;
  private bootAtMs = 0;
  private pressCounter = 0;
  private readonly presses = new Map<number, PendingPress>();
  private helloAcked_ = false;
  private readonly helloSeqs = new Set<number>();
  private running = false;
  private generation = 0;
  private unsubscribe: (() => void)[] = [];
  private display_: PadDisplay = PadSimulator.blankDisplay();

  constructor(options: PadSimulatorOptions) {
    this.transport = options.transport;
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? silentLogger;
    this.model = options.model ?? 'HAOCHA-SIM-5';
    this.firmware = options.firmware ?? '1.0.0-sim';
    this.serial = options.serial ?? 'SIM0001';
    this.caps = options.caps ?? 0b00101;
    this.random = seededRandom(options.seed ?? randomSeed());
    this.bootId_ = options.bootId ?? this.newBootId();
    this.events = new Emitter<PadSimulatorEvents>((err) =>
      this.log.error({ err: String(err) }, 'pad-sim: event listener threw'),
    );
    this.core = new LinkCore({
      transport: this.transport,
      clock: this.clock,
      log: this.log,
      accepts: HOST_TYPES,
      retransmitMs: options.retransmitMs ?? RETRANSMIT_MS,
      maxRetransmits: options.maxRetransmits ?? MAX_RETRANSMITS,
      repeatWindowMs: options.repeatWindowMs ?? REPEAT_WINDOW_MS,
      hooks: {
        onGoodFrame: (msg) => {
          // The host is there again: after a failure, say HELLO so held presses can go (GET_INFO
          // gets its HELLO from apply(), after the ACK).
          if (!this.helloAcked_ && this.helloSeqs.size === 0 && msg.type !== 'GET_INFO') this.sendHello();
        },
        dispatch: (frame, msg) => this.dispatch(frame, msg),
        onStrayAck: (seq, status) => this.lateAck(seq, status),
        onFailure: (out) => this.linkFailed(`no ACK for ${out.name}`),
        onRecord: (rec) => this.events.emit('frame', rec),
        onWriteError: (err) => this.log.debug({ err: err.message }, 'pad-sim: write failed'),
        onSendError: (err) => this.log.error({ err: String(err) }, 'pad-sim: cannot send'),
        onHandlerError: (err) => this.log.error({ err: String(err) }, 'pad-sim: frame handler failed'),
        // A failed press keeps its SEQ reserved, so a late ACK for it cannot be mistaken.
        seqReserved: (seq) => this.seqReservedByPress(seq),
      },
    });
  }

  private get sender() {
    return this.core.sender;
  }

  private static blankDisplay(): PadDisplay {
    return {
      lastArm: null,
      disarmed: false,
      lastPrompt: null,
      lastMode: null,
      lastStaff: null,
      text: {},
      errorLight: false,
    };
  }

  get bootId(): number {
    return this.bootId_;
  }

  /** True once this boot's HELLO was ACKed and no send has failed since. */
  get helloAcked(): boolean {
    return this.helloAcked_;
  }

  /** Presses not yet ACKed (waiting for HELLO, in flight, or failed and held). */
  get pendingPresses(): number {
    return this.presses.size;
  }

  get display(): PadDisplay {
    return { ...this.display_, text: { ...this.display_.text } };
  }

  get counters(): PadSimulatorCounters {
    const s = this.core.stats;
    const d = this.core.decoderCounters;
    return {
      framesIn: s.framesIn,
      framesOut: s.framesOut,
      retransmits: s.retransmits,
      naksSent: s.naksSent,
      naksReceived: s.naksReceived,
      keyNaksKept: this.sender.keptOnNak,
      repeats: s.repeats,
      badCrc: d.badCrc,
      resyncs: d.resyncs,
    };
  }

  recentFrames(): FrameRecord[] {
    return this.core.ring.snapshot();
  }

  on<K extends keyof PadSimulatorEvents>(event: K, listener: PadSimulatorEvents[K]): () => void {
    return this.events.on(event, listener);
  }

  /** Power-up: opens the transport if needed, SEQ 0, HELLO unprompted. */
  async start(): Promise<void> {
    if (this.running) return;
    this.unsubscribe = [
      this.transport.on('data', (bytes) => this.onData(bytes)),
      this.transport.on('close', (info) => {
        if (info.disconnected) this.log.warn({ err: info.error?.message }, 'pad-sim: transport lost');
      }),
      this.transport.on('error', (err) => this.log.warn({ err: err.message }, 'pad-sim: transport error')),
    ];
    if (!this.transport.isOpen) {
      try {
        await this.transport.open();
      } catch (err) {
        this.detach();
        throw err;
      }
    }
    this.running = true;
    this.powerUp();
  }

  /** Power off: pending presses are rejected, the transport is closed. */
  async stop(): Promise<void> {
    if (!this.running) {
      this.detach();
      return;
    }
    this.powerDown('pad stopped');
    this.detach();
    await this.transport.close();
  }

  /** New boot_id, press_ids restart at 1; pending presses are lost, as on a real pad. */
  async powerCycle(): Promise<void> {
    if (!this.running) throw new LinkError('LINK_CLOSED', 'pad is not running');
    this.powerDown('lost by power cycle');
    this.bootId_ = this.newBootId();
    this.running = true;
    this.powerUp();
  }

  /** Presses a key; resolves with the host's ACK status once an ACK arrives (however long that takes). */
  press(key: Key): Promise<PressResult> {
    if (!this.running) return Promise.reject(new LinkError('LINK_CLOSED', 'pad is not running'));
    if (!Number.isInteger(key) || key < 1 || key > 5) {
      return Promise.reject(new RangeError(`key must be 1..5, got ${key}`));
    }
    this.pressCounter = (this.pressCounter + 1) >>> 0;
    const pressId = this.pressCounter;
    return new Promise<PressResult>((resolve, reject) => {
      const press: PendingPress = {
        pressId,
        key,
        uptimeMs: this.uptimeMs(),
        seq: null,
        inFlight: false,
        resolve,
        reject,
      };
      this.presses.set(pressId, press);
      if (this.helloAcked_) this.sendPress(press);
    });
  }

  /** Reports a fault (key stuck, voice, screen, brown-out) to the host. */
  fault(code: number, detail = ''): Promise<void> {
    return this.sender.send({ type: 'FAULT', code, detail }).then(() => undefined);
  }

  // ------------------------------------------------------------------------------------------

  private newBootId(): number {
    // Never 0, so "no boot id" stays distinguishable in logs.
    return Math.floor(this.random() * 0xffff_fffe) + 1;
  }

  private uptimeMs(): number {
    return Math.max(0, Math.floor(this.clock.now() - this.bootAtMs)) >>> 0;
  }

  private seqReservedByPress(seq: number): boolean {
    for (const p of this.presses.values()) if (p.seq === seq) return true;
    return false;
  }

  private powerUp(): void {
    this.generation++;
    this.core.newEpoch();
    this.bootAtMs = this.clock.now();
    this.pressCounter = 0;
    this.core.seq.reset();
    this.core.decoder.reset();
    this.core.repeats.clear();
    this.helloAcked_ = false;
    this.display_ = PadSimulator.blankDisplay();
    this.log.info({ bootId: this.bootId_ }, 'pad-sim: power-up');
    this.sendHello();
  }

  private powerDown(reason: string): void {
    this.running = false;
    this.generation++;
    this.core.newEpoch();
    this.sender.abortAll(reason);
    this.helloSeqs.clear();
    for (const p of this.presses.values())
      p.reject(new LinkError('LINK_CLOSED', `press ${p.pressId}: ${reason}`));
    this.presses.clear();
    this.helloAcked_ = false;
  }

  private sendHello(): void {
    const generation = this.generation;
    const { seq, done } = this.sender.start({
      type: 'HELLO',
      proto: 1,
      bootId: this.bootId_,
      model: this.model,
      firmware: this.firmware,
      serial: this.serial,
      caps: this.caps,
    });
    this.helloSeqs.add(seq);
    done.then(
      () => {
        if (generation !== this.generation) return;
        this.helloSeqs.delete(seq);
        // One HELLO ACKed is enough; other copies in flight need not be retransmitted.
        for (const other of [...this.helloSeqs]) this.sender.cancel(other, 'another HELLO was ACKed');
        this.onHelloAcked();
      },
      () => {
        if (generation === this.generation) this.helloSeqs.delete(seq);
      },
    );
  }

  private onHelloAcked(): void {
    if (this.helloAcked_) return;
    this.helloAcked_ = true;
    this.setErrorLight(false);
    // Held and failed presses go (again) in press order, each with a fresh SEQ.
    const waiting = [...this.presses.values()]
      .filter((p) => !p.inFlight)
      .sort((a, b) => a.pressId - b.pressId);
    for (const p of waiting) this.sendPress(p);
  }

  private sendPress(press: PendingPress): void {
    const generation = this.generation;
    const { seq, done } = this.sender.start(
      { type: 'KEY', pressId: press.pressId, key: press.key, uptimeMs: press.uptimeMs },
      // A NAK for a KEY answers a copy the line damaged (StartOptions.keepOnNak): resend it.
      { keepOnNak: true },
    );
    press.inFlight = true;
    press.seq = seq;
    done.then(
      (status) => {
        if (generation === this.generation) this.settlePress(press, status);
      },
      () => {
        if (generation !== this.generation) return;
        press.inFlight = false;
        // NO_ACK (a KEY never ends on a NAK): held; linkFailed() has lit the error light and the
        // press waits for a HELLO ACK.
      },
    );
  }

  private settlePress(press: PendingPress, status: number): void {
    if (this.presses.get(press.pressId) !== press) return;
    this.presses.delete(press.pressId);
    const s = (status === 0 || status === 1 ? status : 2) as KeyStatusCode;
    if (s === 2) this.setErrorLight(true);
    const result: PressResult = { status: s, pressId: press.pressId };
    this.events.emit('press', { ...result, key: press.key });
    press.resolve(result);
  }

  private linkFailed(reason: string): void {
    if (!this.running) return;
    this.log.warn({ reason }, 'pad-sim: link failed, error light on');
    this.helloAcked_ = false;
    this.setErrorLight(true);
  }

  private setErrorLight(on: boolean): void {
    if (this.display_.errorLight === on) return;
    this.display_.errorLight = on;
    this.events.emit('error-light', on);
  }

  // ------------------------------------------------------------------------------------------

  private onData(bytes: Uint8Array): void {
    if (this.running) this.core.receive(bytes);
  }

  /** A new host frame (not a repeat): ACK it, then apply it. */
  private dispatch(frame: Frame, msg: Message): void {
    this.core.repeats.remember(frame.raw, 0);
    this.core.sendAck(frame.seq, 0);
    this.apply(msg);
  }

  /** An ACK for a press whose sends had all timed out: still its answer. */
  private lateAck(seq: number, status: number): void {
    for (const p of this.presses.values()) {
      if (p.seq === seq && !p.inFlight) {
        this.settlePress(p, status);
        return;
      }
    }
  }

  private apply(msg: Message): void {
    const d = this.display_;
    switch (msg.type) {
      case 'GET_INFO':
        this.sendHello();
        break;
      case 'PING':
        void this.sender.send({ type: 'PONG', nonce: msg.nonce }).catch(() => {});
        break;
      case 'ARM':
        d.lastArm = { seconds: msg.seconds, caseRef: msg.caseRef };
        d.disarmed = false;
        break;
      case 'DISARM':
        d.disarmed = true;
        break;
      case 'PROMPT':
        d.lastPrompt = msg.prompt;
        break;
      case 'SET_MODE':
        d.lastMode = msg.mode;
        break;
      case 'SHOW_STAFF':
        d.lastStaff = { staffNo: msg.staffNo, name: msg.name, window: msg.window };
        break;
      case 'SHOW_TEXT':
        d.text[msg.line] = msg.text;
        break;
    }
    this.events.emit('host-message', msg);
  }

  private detach(): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
  }
}
