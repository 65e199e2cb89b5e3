/**
 * The HOST end of EVP/1 over any Transport (pad-protocol.md, "Reliability").
 *
 * - On open: SEQ restarts at 0 and GET_INFO goes out; HELLO (asked for or not) sets device info
 *   and the link `up`. A changed boot_id emits `power-cycled`.
 * - Every frame but ACK/NAK is ACKed. A KEY is ACKed only after `onKey` has resolved, with the
 *   status it returned (a throw or a bad value ⇒ 2): the handler commits the press to disk first.
 *   Handler calls run one at a time, in arrival order.
 * - A byte-identical frame seen again within 2 s is re-ACKed with the same status and not applied
 *   again; while the first copy's handler is still running, repeats wait for it (one call, one
 *   status). Beyond 2 s, or when the pad re-sends a press with a fresh SEQ after a reconnect, the
 *   same (boot_id, press_id) reaches `onKey` again: deduplicating that is the handler's job (it
 *   owns the store) and it must answer with the status it stored the first time.
 * - A KEY before any HELLO (host restarted while the pad kept running) gets NAK 3 "busy" and a
 *   GET_INFO: the pad retransmits and the press lands once the boot_id is known.
 * - Host frames (ARM, DISARM, PROMPT, SHOW_STAFF, SHOW_TEXT, SET_MODE) retransmit with the same
 *   SEQ every 300 ms, 5 times at most; then the helper rejects and the link goes `down`.
 * - PING after 2 s without any frame from the pad; 3 unanswered ⇒ `down`. While down, GET_INFO
 *   probes every 2 s; any good frame from a known pad brings the link back `up`. Reopening the
 *   transport after a `close` (unplug) is the supervisor's job: call open() again.
 * - Unknown TYPE, or a device-bound TYPE coming from the pad ⇒ NAK 2; bad payload ⇒ NAK 4; a bad
 *   ACK/NAK is counted and ignored (answering it could start a NAK storm).
 */

import type { Transport, TransportCloseInfo } from '../transports/types.ts';
import { type Clock, type Logger, silentLogger, systemClock } from '../util/clock.ts';
import { Emitter } from '../util/emitter.ts';
import type { DecoderCounters } from './decoder.ts';
import {
  DEVICE_TYPES,
  type Frame,
  type Key,
  type KeyStatusCode,
  type Message,
  type MessageOf,
  NakReason,
  type TextEncodingName,
} from './frames.ts';
import {
  type FrameRecord,
  LinkError,
  MAX_RETRANSMITS,
  type Outgoing,
  REPEAT_WINDOW_MS,
  RETRANSMIT_MS,
  RING_SIZE,
} from './link-common.ts';
import { LinkCore } from './link-core.ts';

export type LinkState = 'connecting' | 'up' | 'down';

/**
 * A HELLO follows the ACK of GET_INFO within one frame time (a 50-byte HELLO takes ~52 ms at 9600
 * baud, and sits behind the ACK in the same write). Without it, the pad took the GET_INFO for a
 * repeat of a previous connection's byte-identical one: ask again with the next SEQ. Each
 * reconnect within the pad's 2 s repeat window needs one more such retry (the earlier
 * connections' GET_INFO SEQ 0, 1, … are all still cached there), so they must be quick and
 * several: measured with 200 ms × 3, five back-to-back reconnects took up to 2 s.
 */
const QUICK_INFO_RETRY_MS = 60;
const QUICK_INFO_RETRIES = 12;

export interface DeviceInfo {
  proto: number;
  bootId: number;
  model: string;
  firmware: string;
  serial: string;
  caps: number;
}

export interface KeyPress {
  bootId: number;
  pressId: number;
  key: Key;
  uptimeMs: number;
}

/** Commits the press, then resolves 0 (accepted), 1 (recorded, not a rating) or 2 (refused). */
export type KeyHandler = (press: KeyPress) => Promise<KeyStatusCode>;

export interface HostLinkCounters extends DecoderCounters {
  retransmits: number;
  /** NAKs sent. */
  naks: number;
  naksReceived: number;
  /** Byte-identical frames re-ACKed without being applied again. */
  repeats: number;
  /** onKey calls. */
  keys: number;
  pingsSent: number;
  /** ACK, NAK and PING frames not sent because the line was not taking them (MAX_QUEUED_UNRELIABLE). */
  unreliableDropped: number;
}

export interface HostLinkOptions {
  transport: Transport;
  onKey: KeyHandler;
  clock?: Clock;
  log?: Logger;
  /** boot_id last seen (from the store), so a power cycle during a host restart is noticed. */
  lastBootId?: number | null;
  pingIntervalMs?: number;
  maxMissedPings?: number;
  retransmitMs?: number;
  maxRetransmits?: number;
  repeatWindowMs?: number;
  helloTimeoutMs?: number;
  ringSize?: number;
}

export type HostLinkEvents = {
  state: (state: LinkState, reason: string) => void;
  device: (info: DeviceInfo) => void;
  'power-cycled': (change: { previousBootId: number; bootId: number }) => void;
  /** No HELLO within 1 s of open: probably not an EVP/1 device. */
  'no-hello': () => void;
  fault: (fault: { code: number; detail: string }) => void;
  frame: (record: FrameRecord) => void;
  error: (err: Error) => void;
};

export class HostLink {
  private readonly transport: Transport;
  private readonly onKey: KeyHandler;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly events: Emitter<HostLinkEvents>;
  private readonly core: LinkCore;
  private readonly opts: Required<
    Pick<
      HostLinkOptions,
      | 'pingIntervalMs'
      | 'maxMissedPings'
      | 'retransmitMs'
      | 'maxRetransmits'
      | 'repeatWindowMs'
      | 'helloTimeoutMs'
    >
  >;
  private readonly extra = { keys: 0, pingsSent: 0 };

  private state_: LinkState = 'down';
  private device_: DeviceInfo | null = null;
  private knownBootId: number | null;
  private opened = false;
  /** Bumped at every open/close, so work started in an old session does not write into a new one. */
  private session = 0;
  private unsubscribe: (() => void)[] = [];
  private keyQueue: Promise<unknown> = Promise.resolve();
  private livenessTimer: unknown = null;
  private helloTimer: unknown = null;
  private missedPings = 0;
  private nextNonce = 1;
  private getInfoSeq: number | null = null;
  private quickInfoTimer: unknown = null;
  private quickInfoRetries = 0;

  constructor(options: HostLinkOptions) {
    this.transport = options.transport;
    this.onKey = options.onKey;
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? silentLogger;
    this.knownBootId = options.lastBootId ?? null;
    this.opts = {
      pingIntervalMs: options.pingIntervalMs ?? 2000,
      maxMissedPings: options.maxMissedPings ?? 3,
      retransmitMs: options.retransmitMs ?? RETRANSMIT_MS,
      maxRetransmits: options.maxRetransmits ?? MAX_RETRANSMITS,
      repeatWindowMs: options.repeatWindowMs ?? REPEAT_WINDOW_MS,
      helloTimeoutMs: options.helloTimeoutMs ?? 1000,
    };
    this.events = new Emitter<HostLinkEvents>((err) =>
      this.log.error({ err: String(err) }, 'evp1 host: event listener threw'),
    );
    this.core = new LinkCore({
      transport: this.transport,
      clock: this.clock,
      log: this.log,
      accepts: DEVICE_TYPES,
      retransmitMs: this.opts.retransmitMs,
      maxRetransmits: this.opts.maxRetransmits,
      repeatWindowMs: this.opts.repeatWindowMs,
      ringSize: options.ringSize ?? RING_SIZE,
      hooks: {
        // Any good frame, ACK/NAK included, proves the pad is alive.
        onGoodFrame: () => this.sawDevice(),
        dispatch: (frame, msg) => this.apply(frame, msg),
        onBadPayload: (frame, detail) => this.log.warn({ seq: frame.seq, detail }, 'evp1 host: NAK'),
        onBadAckNak: (detail) => this.log.warn({ detail }, 'evp1 host: bad ACK/NAK ignored'),
        onRetransmit: (out) =>
          this.log.debug({ seq: out.seq, type: out.name, send: out.sends }, 'evp1 host: retransmit'),
        onFailure: (out) => this.sendFailed(out),
        onRecord: (rec) => this.events.emit('frame', rec),
        onWriteError: (err, type) => this.log.warn({ err: err.message, type }, 'evp1 host: write failed'),
        onSendError: (err, type) => this.log.error({ err: String(err), type }, 'evp1 host: cannot send'),
        onHandlerError: (err) => this.log.error({ err: String(err) }, 'evp1 host: frame handler failed'),
      },
    });
  }

  private get sender() {
    return this.core.sender;
  }

  private get repeats() {
    return this.core.repeats;
  }

  get state(): LinkState {
    return this.state_;
  }

  /** From the last HELLO; null until the pad has said who it is. */
  get device(): DeviceInfo | null {
    return this.device_ ? { ...this.device_ } : null;
  }

  get counters(): HostLinkCounters {
    const s = this.core.stats;
    return {
      ...this.core.decoderCounters,
      retransmits: s.retransmits,
      naks: s.naksSent,
      naksReceived: s.naksReceived,
      repeats: s.repeats,
      unreliableDropped: s.unreliableDropped,
      ...this.extra,
    };
  }

  /** The last frames in both directions, oldest first (diagnostics screen, `haocha status`). */
  recentFrames(): FrameRecord[] {
    return this.core.ring.snapshot();
  }

  on<K extends keyof HostLinkEvents>(event: K, listener: HostLinkEvents[K]): () => void {
    return this.events.on(event, listener);
  }

  /** Opens the transport and asks the pad who it is. The only method that throws (open failure). */
  async open(): Promise<void> {
    if (this.opened) return;
    this.session++;
    this.core.newEpoch();
    const session = this.session;
    this.unsubscribe = [
      this.transport.on('data', (bytes) => this.onData(bytes, session)),
      this.transport.on('close', (info) => this.onTransportClose(info, session)),
      this.transport.on('error', (err) => this.events.emit('error', err)),
    ];
    try {
      await this.transport.open();
    } catch (err) {
      this.detach();
      throw err;
    }
    this.opened = true;
    // A different pad may be on the port now: KEYs wait (NAK busy) until its HELLO names the boot.
    this.device_ = null;
    this.quickInfoRetries = 0;
    this.core.seq.reset();
    this.core.decoder.reset();
    this.missedPings = 0;
    this.setState('connecting', 'opened');
    this.requestInfo();
    this.armHelloTimer(session, true);
    this.armLiveness();
  }

  /**
   * Until a HELLO arrives, asks again every `helloTimeoutMs` with a fresh SEQ. Needed because a
   * host that restarts within 2 s sends a GET_INFO byte-identical to its predecessor's (SEQ 0,
   * empty payload): the pad rightly takes it for a repeat, ACKs it and sends no HELLO. (The
   * quicker path is in requestInfo(): GET_INFO ACKed but no HELLO after 200 ms.)
   */
  private armHelloTimer(session: number, first: boolean): void {
    this.helloTimer = this.clock.setTimeout(() => {
      this.helloTimer = null;
      if (session !== this.session || this.device_) return;
      if (first) {
        this.log.warn({ transport: this.transport.description }, 'evp1 host: no HELLO within 1 s');
        this.events.emit('no-hello');
      }
      this.requestInfo();
      this.armHelloTimer(session, false);
    }, this.opts.helloTimeoutMs);
  }

  /** Stops all timers, fails frames in flight and closes the transport. */
  async close(): Promise<void> {
    if (!this.opened) {
      this.detach();
      return;
    }
    this.shutdown('closed');
    this.detach();
    await this.transport.close();
  }

  arm(seconds: number, caseRef = ''): Promise<void> {
    return this.request({ type: 'ARM', seconds, caseRef });
  }

  disarm(): Promise<void> {
    return this.request({ type: 'DISARM' });
  }

  prompt(prompt: number): Promise<void> {
    return this.request({ type: 'PROMPT', prompt });
  }

  setMode(mode: number): Promise<void> {
    return this.request({ type: 'SET_MODE', mode });
  }

  showStaff(staff: { staffNo: string; name: string; window: string }): Promise<void> {
    return this.request({ type: 'SHOW_STAFF', ...staff });
  }

  showText(line: number, text: string, encoding: TextEncodingName = 'utf8'): Promise<void> {
    return this.request({ type: 'SHOW_TEXT', line, encoding, text });
  }

  /** Sends a host frame reliably; resolves on ACK, rejects with a LinkError otherwise. */
  private async request(msg: Message): Promise<void> {
    if (!this.opened) throw new LinkError('LINK_CLOSED', `${msg.type}: link is not open`);
    await this.sender.send(msg);
  }

  // ------------------------------------------------------------------------------------------
  // Receiving

  private onData(bytes: Uint8Array, session: number): void {
    if (session !== this.session || !this.opened) return;
    this.core.receive(bytes);
  }

  /** A new frame from the pad (not a repeat, a device-bound TYPE): apply it and ACK it. */
  private apply(frame: Frame, msg: Message): void {
    switch (msg.type) {
      case 'HELLO':
        // A HELLO answers GET_INFO even if the GET_INFO's own ACK was lost or is still to come.
        if (this.getInfoSeq !== null) this.sender.cancel(this.getInfoSeq, 'answered by HELLO');
        this.onHello(msg);
        this.repeats.remember(frame.raw, 0);
        this.sendAck(frame.seq, 0);
        if (this.state_ !== 'up') this.setState('up', 'HELLO');
        return;
      case 'KEY':
        this.onKeyFrame(frame, msg);
        return;
      case 'PONG':
        this.repeats.remember(frame.raw, 0);
        this.sendAck(frame.seq, 0);
        return;
      case 'FAULT':
        this.log.warn({ code: msg.code, detail: msg.detail }, 'evp1 host: pad fault');
        this.events.emit('fault', { code: msg.code, detail: msg.detail });
        this.repeats.remember(frame.raw, 0);
        this.sendAck(frame.seq, 0);
        return;
      default:
        this.sendNak(frame.seq, NakReason.UNKNOWN_TYPE);
    }
  }

  private onHello(msg: MessageOf<'HELLO'>): void {
    const { proto, bootId, model, firmware, serial, caps } = msg;
    const previous = this.knownBootId;
    this.device_ = { proto, bootId, model, firmware, serial, caps };
    this.knownBootId = bootId;
    this.events.emit('device', { ...this.device_ });
    if (previous !== null && previous !== bootId) {
      this.log.info({ previousBootId: previous, bootId }, 'evp1 host: pad power-cycled');
      // A new boot's frames are never repeats of the old boot's.
      this.repeats.clear();
      this.events.emit('power-cycled', { previousBootId: previous, bootId });
    }
  }

  private onKeyFrame(frame: Frame, msg: MessageOf<'KEY'>): void {
    const device = this.device_;
    if (!device) {
      this.sendNak(frame.seq, NakReason.BUSY);
      this.requestInfo();
      return;
    }
    const press: KeyPress = {
      bootId: device.bootId,
      pressId: msg.pressId,
      key: msg.key,
      uptimeMs: msg.uptimeMs,
    };
    const session = this.session;
    const status = this.keyQueue.then(() => this.callKeyHandler(press));
    this.keyQueue = status;
    this.repeats.remember(frame.raw, status);
    void status.then((s) => {
      // After close or reopen this SEQ means nothing any more: the pad re-sends with a fresh one.
      if (session === this.session && this.opened) this.sendAck(frame.seq, s);
    });
  }

  private async callKeyHandler(press: KeyPress): Promise<KeyStatusCode> {
    this.extra.keys++;
    try {
      const status = await this.onKey(press);
      if (status === 0 || status === 1 || status === 2) return status;
      this.log.error({ press, status }, 'evp1 host: onKey returned a bad status, answering 2');
      return 2;
    } catch (err) {
      this.log.error({ press, err: String(err) }, 'evp1 host: onKey threw, answering 2');
      return 2;
    }
  }

  /** Any good frame proves the pad is alive. */
  private sawDevice(): void {
    this.missedPings = 0;
    this.armLiveness();
    if (this.state_ === 'down' && this.device_) this.setState('up', 'pad answered');
  }

  // ------------------------------------------------------------------------------------------
  // Sending

  private sendUnreliable(msg: Message): void {
    this.core.sendUnreliable(msg);
  }

  private sendAck(ackedSeq: number, status: number): void {
    this.core.sendAck(ackedSeq, status);
  }

  private sendNak(seq: number, reason: number): void {
    this.core.sendNak(seq, reason);
  }

  /** GET_INFO, reliably, at most one in flight. */
  private requestInfo(): void {
    if (this.getInfoSeq !== null) return;
    const session = this.session;
    const { seq, done } = this.sender.start({ type: 'GET_INFO' });
    this.getInfoSeq = seq;
    done
      .then(() => {
        // A pad sends ACK and HELLO back to back. An ACK alone means it took this GET_INFO for a
        // repeat of a previous host's identical one (see armHelloTimer): ask again soon.
        if (session !== this.session || this.device_ || this.quickInfoRetries >= QUICK_INFO_RETRIES) return;
        this.quickInfoRetries++;
        this.quickInfoTimer = this.clock.setTimeout(() => {
          this.quickInfoTimer = null;
          if (session === this.session && !this.device_) this.requestInfo();
        }, QUICK_INFO_RETRY_MS);
      })
      .catch((err: LinkError) => this.log.debug({ err: err.message }, 'evp1 host: GET_INFO ended'))
      .finally(() => {
        if (this.getInfoSeq === seq) this.getInfoSeq = null;
      });
  }

  private sendFailed(out: Outgoing): void {
    if (!this.opened) return;
    this.log.warn({ seq: out.seq, type: out.name }, 'evp1 host: no ACK after all retransmissions');
    this.setState('down', `no ACK for ${out.name}`);
  }

  /** Restarts the idle timer: PING after `pingIntervalMs` without a frame from the pad. */
  private armLiveness(): void {
    if (this.livenessTimer !== null) this.clock.clearTimeout(this.livenessTimer);
    this.livenessTimer = null;
    if (!this.opened) return;
    this.livenessTimer = this.clock.setTimeout(() => {
      this.livenessTimer = null;
      this.idle();
    }, this.opts.pingIntervalMs);
  }

  private idle(): void {
    if (!this.opened) return;
    if (this.missedPings >= this.opts.maxMissedPings) {
      if (this.state_ !== 'down') this.setState('down', `${this.missedPings} unanswered PINGs`);
      // Probe: a pad that comes back (or rebooted) answers with HELLO.
      this.sendUnreliable({ type: 'GET_INFO' });
    } else {
      this.missedPings++;
      this.extra.pingsSent++;
      const nonce = this.nextNonce;
      this.nextNonce = (this.nextNonce + 1) >>> 0 || 1;
      // Not retransmitted: a lost PING is exactly what the missed-PING count measures.
      this.sendUnreliable({ type: 'PING', nonce });
    }
    this.armLiveness();
  }

  // ------------------------------------------------------------------------------------------
  // State

  private setState(state: LinkState, reason: string): void {
    if (this.state_ === state) return;
    this.state_ = state;
    this.log.info({ state, reason }, 'evp1 host: link state');
    this.events.emit('state', state, reason);
  }

  private onTransportClose(info: TransportCloseInfo, session: number): void {
    if (session !== this.session || !this.opened) return;
    this.log.warn(
      { err: info.error?.message, disconnected: info.disconnected },
      'evp1 host: transport closed',
    );
    this.shutdown(info.disconnected ? 'disconnected' : 'transport closed');
    this.detach();
  }

  private shutdown(reason: string): void {
    this.opened = false;
    this.session++;
    this.core.newEpoch();
    for (const timer of [this.livenessTimer, this.helloTimer, this.quickInfoTimer]) {
      if (timer !== null) this.clock.clearTimeout(timer);
    }
    this.livenessTimer = null;
    this.helloTimer = null;
    this.quickInfoTimer = null;
    this.sender.abortAll(reason);
    this.getInfoSeq = null;
    this.setState('down', reason);
  }

  private detach(): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
  }
}
