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
  type RatingRecord,
  type SessionView,
} from '../../src-shared/index.ts';
import { AuditLog } from './audit/audit-log.ts';
import type { CounterConfig } from './config.ts';
import { CounterSession, receiptCode } from './session.ts';
import { CounterStore, type PressDecision, type PressOutcome } from './store/counter-store.ts';
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
  serial: null,
  retransmits: 0,
  reconnects: 0,
  alarm: null,
};

/**
 * The counter's core services wired together, with no Electron in sight: store, session, sync,
 * and the pad's press handler. Electron's main process and the devhost both host exactly this.
 */
export class Counter extends EventEmitter<CounterEvents> {
  readonly store: CounterStore;
  readonly session: CounterSession;
  readonly sync: SyncLoop;
  /** Append-only, hash-chained record of every action at this counter (电子监察). */
  readonly audit: AuditLog;
  private pad: PadView = NO_PAD;
  private readonly runtimeFile: string;

  constructor(readonly opts: CounterOptions) {
    super();
    this.store = new CounterStore(join(opts.dataDir, 'counter.db'));
    this.session = new CounterSession(opts.config);
    this.sync = new SyncLoop(this.store, opts.hubUrl, opts.config.sync, opts.fetchImpl);
    this.runtimeFile = join(opts.dataDir, 'runtime.json');
    this.audit = new AuditLog(this.store.db);
    let previous = this.session.view();
    this.session.on('change', (v) => {
      // A rating window that closed by itself (no rating, no cancel) timed out: 未评价.
      if (previous.state === 'rating_open' && v.state === 'idle' && !this.cancelling)
        this.auditSafe('system', 'rating.timed_out', { case_ref: previous.case_ref });
      previous = v;
    });
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
      // The rating and its audit entry commit together (nested transactions are savepoints).
      result = this.store.db.transaction(() => {
        const decided: { v: PressDecision | null } = { v: null };
        const r = this.store.commitPress(press, () => {
          decided.v = this.session.decide(level, 'pad', {
            boot_id: press.bootId,
            press_id: press.pressId,
            key: press.key,
          });
          return decided.v;
        });
        if (r.record) this.auditRating(r.record);
        else if (decided.v && !decided.v.rate)
          // A press that is not a rating (none open, after the first press): an anti-fraud signal (T1).
          this.audit.append('citizen', 'press.not_rating', {
            pad: { boot_id: press.bootId, press_id: press.pressId },
            reason: decided.v.reason,
          });
        return r;
      })();
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

  /** `actor` is who opened it, for the audit log: the signed-in staff unless an API caller is named. */
  openRating(caseRef: string | null, actor?: string): SessionView {
    const view = this.session.open(caseRef);
    this.auditSafe(actor ?? this.staffActor(), 'rating.open', {
      case_ref: caseRef,
      expires_at: view.expires_at,
    });
    return view;
  }

  cancelRating(actor?: string): SessionView {
    const before = this.session.view();
    this.cancelling = true;
    try {
      const view = this.session.cancel();
      if (before.state === 'rating_open')
        this.auditSafe(actor ?? this.staffActor(), 'rating.cancel', { case_ref: before.case_ref });
      return view;
    } finally {
      this.cancelling = false;
    }
  }

  private cancelling = false;

  private staffActor(): string {
    return `staff:${this.opts.config.staff.staff_no}`;
  }

  /** The audit entry of a committed rating: which rating, never its level (threat T2). */
  private auditRating(record: RatingRecord): void {
    this.audit.append('citizen', 'rating.committed', {
      seq: record.seq,
      event_id: record.event_id,
      case_ref: record.case_ref,
      source: record.source,
      staff_no: record.staff_no,
      pad: record.pad ? { boot_id: record.pad.boot_id, press_id: record.pad.press_id } : null,
    });
  }

  /** Audit entries of actions that are not store writes: a failure is reported, never fatal. */
  private auditSafe(actor: string, action: string, details: Record<string, unknown>): void {
    try {
      this.audit.append(actor, action, details);
    } catch (e) {
      process.emitWarning(`cannot write audit entry ${action}: ${(e as Error).message}`);
    }
  }

  /** A level touched on the citizen screen: committed before the caller hears back. */
  submitScreenRating(level: Level): { receipt: string } {
    const decision = this.session.decide(level, 'screen', null);
    if (!decision.rate)
      throw new CodedError('NO_RATING_OPEN', '当前没有待评价的服务 (no rating window is open)');
    let record: ReturnType<CounterStore['commitScreenRating']>;
    try {
      record = this.store.db.transaction(() => {
        const r = this.store.commitScreenRating(level, decision.ctx);
        this.auditRating(r);
        return r;
      })();
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
    if (view.link !== this.pad.link && this.store.db.open)
      this.auditSafe('system', 'pad.link', {
        from: this.pad.link,
        to: view.link,
        path: view.path,
        model: view.model,
        boot_id: view.boot_id,
      });
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
