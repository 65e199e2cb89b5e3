import { EventEmitter } from 'node:events';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CodedError,
  type CounterStatus,
  type EventName,
  type EventPayload,
  type Level,
  type PadView,
  type SessionView,
} from '../../src-shared/index.ts';
import type { CounterConfig } from './config.ts';
import { CounterSession, receiptCode } from './session.ts';
import { CounterStore, type PressOutcome } from './store/counter-store.ts';
import { SyncLoop } from './sync.ts';

export interface CounterOptions {
  dataDir: string;
  hubUrl: string;
  config: CounterConfig;
  fetchImpl?: typeof fetch;
}

type CounterEvents = { [N in EventName]: [EventPayload<N>] };

/** A press as the pad bridge reports it, before the device profile maps the key to a level. */
export interface PadPressEvent {
  bootId: number;
  pressId: number;
  key: number;
  uptimeMs: number;
}

const NO_PAD: PadView = {
  link: 'none',
  path: null,
  model: null,
  boot_id: null,
  frames: 0,
  bad_crc: 0,
  resyncs: 0,
  dropped_bytes: 0,
};

/**
 * The counter's core services wired together, with no Electron in sight: store, session, sync,
 * and the pad's press handler. Electron's main process and the devhost both host exactly this.
 */
export class Counter extends EventEmitter<CounterEvents> {
  readonly store: CounterStore;
  readonly session: CounterSession;
  readonly sync: SyncLoop;
  private pad: PadView = NO_PAD;
  private readonly runtimeFile: string;

  constructor(readonly opts: CounterOptions) {
    super();
    this.store = new CounterStore(join(opts.dataDir, 'counter.db'));
    this.session = new CounterSession(opts.config);
    this.sync = new SyncLoop(this.store, opts.hubUrl, opts.config.sync, opts.fetchImpl);
    this.runtimeFile = join(opts.dataDir, 'runtime.json');
    this.session.on('change', (v) => this.emit('session', v));
    this.sync.on('change', (v) => {
      this.emit('sync', v);
      this.writeRuntime();
    });
  }

  start(): void {
    this.sync.start();
    this.writeRuntime();
  }

  /**
   * The pad's KEY handler: returns the EVP/1 ACK status only once the outcome is durably
   * committed (0 rating, 1 recorded but not a rating, 2 cannot store). A press seen before
   * (same boot_id and press_id, e.g. retransmitted after a reconnect) gets its first outcome again.
   */
  handlePadPress(press: PadPressEvent): PressOutcome {
    const level = this.opts.config.key_levels[press.key - 1] as Level | undefined;
    if (level === undefined) return 1;
    let result: ReturnType<CounterStore['commitPress']>;
    try {
      result = this.store.commitPress(press, () =>
        this.session.decide(level, 'pad', { boot_id: press.bootId, press_id: press.pressId, key: press.key }),
      );
    } catch (e) {
      process.emitWarning(`cannot store pad press: ${(e as Error).message}`);
      return 2;
    }
    if (result.record) {
      this.session.rated(receiptCode(result.record.event_id));
      this.sync.kick();
      this.emit('sync', this.sync.view());
    }
    return result.outcome;
  }

  openRating(caseRef: string | null): SessionView {
    return this.session.open(caseRef);
  }

  cancelRating(): SessionView {
    return this.session.cancel();
  }

  /** A level touched on the citizen screen: committed before the caller hears back. */
  submitScreenRating(level: Level): { receipt: string } {
    const decision = this.session.decide(level, 'screen', null);
    if (!decision.rate)
      throw new CodedError('NO_RATING_OPEN', '当前没有待评价的服务 (no rating window is open)');
    let record: ReturnType<CounterStore['commitScreenRating']>;
    try {
      record = this.store.commitScreenRating(level, decision.ctx);
    } catch (e) {
      throw new CodedError(
        'STORE_UNAVAILABLE',
        `评价未能保存 (the store cannot commit: ${(e as Error).message})`,
      );
    }
    const receipt = receiptCode(record.event_id);
    this.session.rated(receipt);
    this.sync.kick();
    this.emit('sync', this.sync.view());
    return { receipt };
  }

  setPad(view: PadView): void {
    this.pad = view;
    this.emit('pad', view);
    this.writeRuntime();
  }

  status(): CounterStatus {
    return {
      device_id: this.store.deviceId,
      session: this.session.view(),
      pad: this.pad,
      sync: this.sync.view(),
    };
  }

  /** What `haocha status` cannot read from the store: the live pad link, written atomically. */
  private writeRuntime(): void {
    const tmp = `${this.runtimeFile}.tmp`;
    try {
      writeFileSync(
        tmp,
        JSON.stringify({
          pid: process.pid,
          updated_at: new Date().toISOString(),
          pad: this.pad,
          session: this.session.view(),
          hub: this.sync.view().hub,
        }),
      );
      renameSync(tmp, this.runtimeFile);
    } catch {
      // Status reporting must never take the counter down (e.g. on a full disk).
    }
  }

  async close(): Promise<void> {
    this.sync.stop();
    this.session.close();
    this.store.close();
  }
}
