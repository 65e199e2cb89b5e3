import { EventEmitter } from 'node:events';
import { AUTH_ERROR_CODES } from '../../src-shared/enrollment.ts';
import {
  type CounterStatus,
  DEFAULT_HEARTBEAT_S,
  type DeliveredCommand,
  GENESIS_HASH,
  type HeartbeatRequest,
  HUB_API,
  heartbeatReplySchema,
  hubErrorSchema,
  type PauseReason,
} from '../../src-shared/index.ts';
import type { RequestSigner } from './enrollment.ts';
import type { CounterStore } from './store/counter-store.ts';

/** What `haocha status` and the diagnostics show of the last heartbeat. */
export interface HeartbeatView {
  /** Counter clock when the last heartbeat was sent; null before the first. */
  last_sent_at: string | null;
  /** Counter clock of the last heartbeat the hub answered. */
  last_ok_at: string | null;
  /** The hub's clock in its last answer. */
  server_time: string | null;
  last_error: string | null;
  /** Commands received since start. */
  commands: number;
}

export interface HeartbeatOptions {
  hubUrl: string;
  store: CounterStore;
  /** The counter's live state (session, pad, sync, store, alarms). */
  status: () => CounterStatus;
  hallId: string;
  windowId: string;
  appVersion: string;
  configVersion: () => string;
  uploadHalted: () => boolean;
  intervalS?: number | undefined;
  signer: RequestSigner | null;
  /** The counter's wall clock (sent_at); tests make it wrong on purpose. */
  now: () => Date;
  fetchImpl?: typeof fetch | undefined;
  /** The hub's commands. */
  rewind: (toSeq: number) => void;
  pause: (reason: PauseReason) => void;
  /**
   * The hub has (or asks to resend) a config bundle: called with its version when the hub's differs
   * from ours, and with null on resend_config. A no-op until config bundles hook in.
   */
  onConfigHint?: ((version: string | null) => void) | undefined;
}

/**
 * Sends a heartbeat every `intervalS` (default 30 s) and carries out the hub's commands. Its own
 * timer, its own requests: a slow or failing hub never delays a rating or an upload.
 */
export class HeartbeatLoop extends EventEmitter<{ beat: [HeartbeatView]; command: [DeliveredCommand] }> {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = true;
  /** Aborts a beat in flight when stopped, as SyncLoop does: a closing hub must not wait on it. */
  private abort = new AbortController();
  private state: HeartbeatView = {
    last_sent_at: null,
    last_ok_at: null,
    server_time: null,
    last_error: null,
    commands: 0,
  };

  constructor(private readonly opts: HeartbeatOptions) {
    super();
  }

  /** Enrolled while running: the next heartbeat is signed with this key. */
  setSigner(signer: RequestSigner): void {
    this.opts.signer = signer;
  }

  get intervalS(): number {
    return this.opts.intervalS ?? DEFAULT_HEARTBEAT_S;
  }

  /**
   * The first beat comes after half to one interval, at random: the counters of a hall that power
   * up together (or reconnect after a hub restart) do not all beat in the same second.
   */
  start(random: () => number = Math.random): void {
    this.stopped = false;
    if (this.abort.signal.aborted) this.abort = new AbortController();
    this.schedule(this.intervalS * 1000 * (0.5 + random() / 2));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.abort.abort();
  }

  view(): HeartbeatView {
    return { ...this.state };
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = null;
    await this.beat();
    this.schedule(this.intervalS * 1000);
  }

  /** One heartbeat now (the timer calls it; tests too). Never throws. */
  async beat(): Promise<HeartbeatView> {
    if (this.running) return this.view();
    this.running = true;
    try {
      await this.send(true);
    } catch (e) {
      // Aborted by stop(): not a fault of the hub, so the view keeps what the last answer said.
      if (!this.abort.signal.aborted) this.state.last_error = `heartbeat failed: ${(e as Error).message}`;
    } finally {
      this.running = false;
    }
    this.emit('beat', this.view());
    return this.view();
  }

  /** The request body from the counter's state right now. */
  request(): HeartbeatRequest {
    const { store, status } = this.opts;
    const s = status();
    const head = store.db.prepare('SELECT seq, hash FROM ratings ORDER BY seq DESC LIMIT 1').get() as
      | { seq: number; hash: string }
      | undefined;
    return {
      device_id: store.deviceId,
      hall_id: this.opts.hallId,
      window_id: this.opts.windowId,
      sent_at: this.opts.now().toISOString(),
      mono_ms: store.monoMs(),
      app_boot_id: store.appBootId,
      heartbeat_s: this.intervalS,
      queue_depth: s.sync.queue_depth,
      oldest_unsent_age_s: s.sync.oldest_unsent_age_s,
      chain_head: head ?? { seq: 0, hash: GENESIS_HASH },
      clock_offset_ms: this.opts.signer?.clockOffsetMs() ?? 0,
      app_version: this.opts.appVersion,
      config_version: this.opts.configVersion(),
      pad: { link: s.pad.link, alarm: s.pad.alarm?.kind ?? null },
      store: { health: s.store.health, message: s.store.message?.slice(0, 500) ?? null },
      session: { state: s.session.state, staff_no: s.session.staff?.staff_no ?? null },
      upload: {
        hub: s.sync.hub,
        halted: this.opts.uploadHalted(),
        last_error: s.sync.last_error?.slice(0, 500) ?? null,
      },
      alarms: s.alarms.slice(0, 20),
    };
  }

  private async send(mayRetry: boolean): Promise<void> {
    const url = `${this.opts.hubUrl}${HUB_API}/heartbeat`;
    // The store may already be closed when a late timer fires: nothing to report then.
    if (!this.opts.store.db.open) return;
    const body = Buffer.from(JSON.stringify(this.request()));
    const base = { 'content-type': 'application/json' };
    const signer = this.opts.signer;
    const sentAt = new Date();
    const headers = signer ? await signer.headers('POST', url, body, base) : base;
    this.state.last_sent_at = this.opts.now().toISOString();
    const res = await (this.opts.fetchImpl ?? fetch)(url, {
      method: 'POST',
      headers,
      body: new Uint8Array(body),
      signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(10_000)]),
    });
    const text = await res.text();
    if (!res.ok) {
      const err = hubErrorSchema.safeParse(safeJson(text));
      const code = err.success ? err.data.code : `HTTP_${res.status}`;
      if (
        mayRetry &&
        res.status === 401 &&
        code === AUTH_ERROR_CODES.clockSkew &&
        signer &&
        err.success &&
        err.data.server_time
      ) {
        // Same rule as uploads: sign with the hub's time from now on, once more at once.
        signer.learnServerTime(err.data.server_time, sentAt);
        return this.send(false);
      }
      this.state.last_error = `${code}: ${err.success ? err.data.message : text.slice(0, 200)}`;
      return;
    }
    const reply = heartbeatReplySchema.parse(JSON.parse(text));
    this.state.last_ok_at = this.opts.now().toISOString();
    this.state.server_time = reply.server_time;
    this.state.last_error = null;
    for (const command of reply.commands) this.carryOut(command);
    if (reply.config_version !== null && reply.config_version !== this.opts.configVersion())
      this.hint(reply.config_version);
  }

  private carryOut(command: DeliveredCommand): void {
    this.state.commands++;
    try {
      switch (command.type) {
        case 'rewind':
          this.opts.rewind(command.to_seq);
          break;
        case 'pause':
          this.opts.pause(command.reason);
          break;
        case 'resend_config':
          this.hint(null);
          break;
      }
      this.emit('command', command);
    } catch (e) {
      // A pause while nobody is signed in, say: the command is spent; say why on the diagnostics.
      this.state.last_error = `command ${command.type} (${command.id}) not carried out: ${(e as Error).message}`;
      process.emitWarning(this.state.last_error);
    }
  }

  private hint(version: string | null): void {
    try {
      this.opts.onConfigHint?.(version);
    } catch (e) {
      process.emitWarning(`config hint failed: ${(e as Error).message}`);
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
