import { EventEmitter } from 'node:events';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verify as argon2Verify } from '@node-rs/argon2';
import {
  type Alarm,
  CodedError,
  type CounterStatus,
  type Dimensions,
  type EventName,
  type EventPayload,
  type Level,
  NO_PAD,
  type PadView,
  type PauseReason,
  type RatingRecord,
  type ReasonDictionary,
  type SessionView,
  type StoreView,
  type TrustStatus,
} from '../../src-shared/index.ts';
import { AuditLog } from './audit/audit-log.ts';
import type { CounterConfig } from './config.ts';
import { ConfigSync } from './config-sync.ts';
import { type DeviceKeyStore, FileKeyStore } from './device-key.ts';
import { EnrollError, enroll, loadEnrollment, RequestSigner } from './enrollment.ts';
import { HeartbeatLoop } from './heartbeat.ts';
import { isOpenAt } from './opening-hours.ts';
import { PresenceLog } from './presence-log.ts';
import {
  type CaseInfo,
  CounterSession,
  levelOfKey,
  type Opener,
  type PresenceChange,
  receiptCode,
  type TimedOutWindow,
} from './session.ts';
import {
  CounterStore,
  notRatedGiven,
  type PressDecision,
  type PressOutcome,
  plainGiven,
  type RatingGiven,
} from './store/counter-store.ts';
import { SyncLoop } from './sync.ts';

export interface CounterOptions {
  dataDir: string;
  hubUrl: string;
  config: CounterConfig;
  fetchImpl?: typeof fetch;
  /** Where the device key lives: the OS keystore under Electron; a 0600 file by default. */
  keyStore?: DeviceKeyStore;
  /** Wall clock (tests move it). */
  now?: () => Date;
  /** Reported in heartbeats; default the package version. */
  appVersion?: string;
  /** The hub has a newer config bundle (its version), or asked to resend it (null): heartbeats call this. */
  onConfigHint?: (version: string | null) => void;
}

type CounterEvents = { [N in EventName]: [EventPayload<N>] };

/** A press as the pad bridge reports it, before the device profile maps the key to a level. */
export interface PadPressEvent {
  bootId: number;
  pressId: number;
  key: number;
  uptimeMs: number;
}

/** A rating from the citizen screen, as the `rating.submit` call carries it. */
export interface ScreenRatingInput {
  level: Level;
  reasons?: string[] | undefined;
  reason_timed_out?: boolean | undefined;
  dimensions?: Dimensions | undefined;
  free_text?: string | undefined;
  anonymous?: boolean | undefined;
  /** 'wedge' when a keyboard-wedge pad's key gave the level. */
  source?: 'screen' | 'wedge' | undefined;
}

/**
 * The counter's core services wired together, with no Electron in sight: store, session, sync,
 * and the pad's press handler. Electron's main process and the devhost both host exactly this.
 */
export class Counter extends EventEmitter<CounterEvents> {
  readonly store: CounterStore;
  readonly session: CounterSession;
  readonly sync: SyncLoop;
  /** Heartbeats to the hub every sync.heartbeat_s, and the hub's commands. */
  readonly heartbeat: HeartbeatLoop;
  /** Append-only, hash-chained record of every action at this counter (电子监察). */
  readonly audit: AuditLog;
  readonly presence: PresenceLog;
  private pad: PadView = NO_PAD;
  private readonly runtimeFile: string;
  private readonly pinFailures = new Map<string, { count: number; lockedUntil: number }>();
  /** Since when the window has had no signed-in staff (null while staffed), and the alarm if raised. */
  private unstaffedSince: number | null = null;
  private unstaffedAlarm: Alarm | null = null;
  private readonly alarmTimer: NodeJS.Timeout;
  private readonly now: () => Date;
  /** Signs requests to the hub once enrolled; set again when IT enrolls while running. */
  private signer: RequestSigner | null = null;

  constructor(readonly opts: CounterOptions) {
    super();
    this.now = opts.now ?? (() => new Date());
    this.store = new CounterStore(join(opts.dataDir, 'counter.db'), this.now);
    this.audit = new AuditLog(this.store.db);
    this.presence = new PresenceLog(this.store.db, this.now);
    const signer = this.loadSigner();
    this.signer = signer;
    // Config bundles: the last one applied is in force from the start (before auto sign-in).
    this.configSync = new ConfigSync({
      dataDir: opts.dataDir,
      hubUrl: opts.hubUrl,
      signer,
      enrollment: this.enrollmentOrNull(),
      base: structuredClone(opts.config),
      now: this.now,
      ...(opts.fetchImpl ? { fetchImpl: opts.fetchImpl } : {}),
    });
    const saved = this.configSync.loadSaved();
    if (saved) Object.assign(opts.config, saved.config);
    this.session = new CounterSession(opts.config, {
      now: this.now,
      restore: this.presence.restore(),
    });
    this.sync = new SyncLoop(this.store, opts.hubUrl, opts.config.sync, opts.fetchImpl, signer);
    this.heartbeat = new HeartbeatLoop({
      hubUrl: opts.hubUrl,
      store: this.store,
      status: () => this.status(),
      hallId: opts.config.hall_id,
      windowId: opts.config.window_id,
      appVersion: opts.appVersion ?? process.env.npm_package_version ?? '0.1.0',
      configVersion: () => this.opts.config.config_version,
      uploadHalted: () => this.sync.isHalted(),
      intervalS: opts.config.sync.heartbeat_s,
      signer,
      now: this.now,
      fetchImpl: opts.fetchImpl,
      rewind: (toSeq) => this.sync.rewind(toSeq),
      pause: (reason) => this.pause(reason),
      onConfigHint: (version) => {
        this.configHint(version);
        opts.onConfigHint?.(version);
      },
    });
    this.heartbeat.on('beat', () => this.writeRuntime());
    this.heartbeat.on('command', (c) => this.auditSafe('hub', `fleet.${c.type}`, { ...c }));
    this.configSync.on('bundle', (bundle, config) => this.offerConfig(bundle.version, bundle.seq, config));
    this.configSync.on('change', () => this.writeRuntime());
    this.runtimeFile = join(opts.dataDir, 'runtime.json');
    this.session.on('presence', (change) => this.recordPresence(change));
    // A full or read-only disk shows on both screens and in `haocha status` at once.
    this.store.onHealthChange((v) => {
      process.emitWarning(`counter store health: ${v.health}${v.message ? ` (${v.message})` : ''}`);
      this.emit('store', v);
      this.writeRuntime();
    });
    this.session.on('timedOut', (w) => this.recordNotRated(w));
    this.session.on('change', (v) => {
      this.emit('session', v);
      // After the current step: a window closed by sign-out or time-out is recorded first, under the old version.
      if (this.pendingConfig && v.state !== 'rating_open') queueMicrotask(() => this.applyPendingConfig());
      this.writeRuntime();
    });
    this.sync.on('change', (v) => {
      this.emit('sync', v);
      this.writeRuntime();
    });
    // Every restart of a staffed window is on the presence log: who is still signed in, or, when
    // that staff member left the roster meanwhile, that the window is now unstaffed.
    const last = this.presence.last();
    if (last && last.state !== 'signed_out') {
      const restored = this.session.signedIn();
      this.recordPresence(
        restored
          ? {
              event: 'restart',
              state: this.session.state() === 'paused' ? 'paused' : 'idle',
              staff_no: restored.staff_no,
              reason: this.session.view().pause_reason,
            }
          : { event: 'sign_out', state: 'signed_out', staff_no: last.staff_no, reason: 'not_in_roster' },
      );
    }
    const auto = opts.config.auto_sign_in;
    if (auto && this.session.state() === 'signed_out') {
      const staff = opts.config.roster.find((s) => s.staff_no === auto);
      if (staff) this.session.signIn(staff, true);
      else process.emitWarning(`auto_sign_in ${auto} is not in the roster: the window stays signed out`);
    }
    this.alarmTimer = setInterval(() => this.checkUnstaffed(), 15_000);
    this.alarmTimer.unref();
    // Retention: acked ratings older than retention_days go, in small batches, hourly.
    this.pruneTimer = setInterval(() => void this.prune(), 3600_000);
    this.pruneTimer.unref();
  }

  private readonly pruneTimer: NodeJS.Timeout;

  /** Hub config bundles (src-main/core/config-sync.ts). */
  readonly configSync: ConfigSync;
  /** A received config waiting for the open rating window to close. */
  private pendingConfig: { version: string; seq: number; config: CounterConfig } | null = null;

  /**
   * Hook for heartbeats: the hub's config_version (or a resend_config command, with no version)
   * makes the counter pull now unless it already runs that version.
   */
  configHint(version?: string | null): void {
    void this.configSync.onHint(version);
  }

  /** The version of the configuration in force (recorded with every rating from now on). */
  configVersion(): string {
    return this.opts.config.config_version;
  }

  /** A verified bundle: in force at once, or, while a citizen is rating, as soon as that window closes. */
  private offerConfig(version: string, seq: number, config: CounterConfig): void {
    this.pendingConfig = { version, seq, config };
    if (this.session.state() === 'rating_open') this.configSync.markPending(version);
    else this.applyPendingConfig();
  }

  /**
   * Swaps the configuration in one synchronous step: the session reads the same object, so the
   * next rating's record carries the new version and nothing in between sees half of it.
   */
  private applyPendingConfig(): void {
    const next = this.pendingConfig;
    if (!next || this.session.state() === 'rating_open' || !this.store.db.open) return;
    this.pendingConfig = null;
    Object.assign(this.opts.config, next.config);
    this.configSync.applied(next.version, next.seq);
    this.auditSafe('system', 'config.applied', { version: next.version, seq: next.seq });
    // Staff taken off this window's roster are signed out now rather than at the next restart.
    const staff = this.session.signedIn();
    if (staff && !next.config.roster.some((s) => s.staff_no === staff.staff_no)) this.session.signOut();
    this.emit('session', this.session.view());
    this.writeRuntime();
  }

  private enrollmentOrNull(): ReturnType<typeof loadEnrollment> {
    try {
      return loadEnrollment(this.opts.dataDir);
    } catch {
      // Already reported by loadSigner; an unreadable enrollment means unenrolled here too.
      return null;
    }
  }

  /**
   * The request signer when this counter is enrolled (DATA/enrollment.json and its key); null
   * otherwise, and uploads go unsigned (a hub that requires signatures answers 401 UNSIGNED).
   */
  private loadSigner(): RequestSigner | null {
    let enrollment: ReturnType<typeof loadEnrollment>;
    try {
      enrollment = loadEnrollment(this.opts.dataDir);
    } catch (e) {
      // A damaged enrollment file must not stop the counter rating: it queues, unsigned, and says so.
      process.emitWarning((e as Error).message);
      return null;
    }
    if (!enrollment) return null;
    let key: ReturnType<DeviceKeyStore['load']>;
    try {
      key = (this.opts.keyStore ?? new FileKeyStore(this.opts.dataDir)).load();
    } catch (e) {
      // A keystore that cannot protect the key (or a damaged key file): upload unsigned and say why.
      process.emitWarning(`cannot load the device key: ${(e as Error).message}`);
      return null;
    }
    if (!key) {
      process.emitWarning('enrolled, but the device key is missing: enroll again (haocha enroll)');
      return null;
    }
    if (enrollment.device_id !== this.store.deviceId)
      process.emitWarning(`enrolled as ${enrollment.device_id}, but this store is ${this.store.deviceId}`);
    return new RequestSigner(enrollment.device_id, key);
  }

  /** Device trust for IT's provisioning panel: enrolled, signing, and why not. */
  trustStatus(): TrustStatus {
    let enrollment: ReturnType<typeof loadEnrollment> = null;
    let problem: string | null = null;
    try {
      enrollment = loadEnrollment(this.opts.dataDir);
    } catch (e) {
      problem = (e as Error).message;
    }
    if (enrollment && !this.signer) {
      try {
        const key = (this.opts.keyStore ?? new FileKeyStore(this.opts.dataDir)).load();
        if (!key) problem = 'enrolled, but the device key is missing: enroll again';
      } catch (e) {
        problem = `cannot load the device key: ${(e as Error).message}`;
      }
    }
    return {
      device_id: this.store.deviceId,
      hub_url: this.opts.hubUrl,
      enrolled: enrollment !== null,
      signing: this.signer !== null,
      hall_id: enrollment?.hall_id ?? null,
      window_id: enrollment?.window_id ?? null,
      enrolled_at: enrollment?.enrolled_at ?? null,
      problem,
    };
  }

  /**
   * IT enrolls this terminal with a hub token (provisioning panel). The key is made in the host's
   * key store (safeStorage under Electron, a 0600 file under the devhost) and uploads are signed
   * from the next request on, without a restart.
   */
  async enroll(token: string, hubUrl?: string): Promise<TrustStatus> {
    if (this.signer)
      throw new CodedError(
        'ALREADY_ENROLLED',
        'this terminal is enrolled and signing: revoke it at the hub first',
      );
    const ours = this.opts.hubUrl.replace(/\/+$/, '');
    if (hubUrl !== undefined && hubUrl.replace(/\/+$/, '') !== ours)
      throw new CodedError(
        'ENROLL_FAILED',
        `the token is for ${hubUrl}, but this counter uploads to ${ours}`,
      );
    try {
      await enroll({
        dataDir: this.opts.dataDir,
        hubUrl: ours,
        token,
        deviceId: this.store.deviceId,
        appVersion: process.env.npm_package_version ?? '0.1.0',
        keyStore: this.opts.keyStore ?? new FileKeyStore(this.opts.dataDir),
        ...(this.opts.fetchImpl ? { fetchImpl: this.opts.fetchImpl } : {}),
      });
    } catch (e) {
      this.auditSafe('it', 'device.enroll_failed', { reason: (e as Error).message });
      if (e instanceof EnrollError && e.code === 'ENROLLMENT_TOKEN_INVALID')
        throw new CodedError('ENROLL_TOKEN_INVALID', e.message);
      if (e instanceof EnrollError) throw new CodedError('ENROLL_FAILED', `${e.code}: ${e.message}`);
      throw new CodedError('ENROLL_FAILED', `hub not reachable: ${(e as Error).message}`);
    }
    const signer = this.loadSigner();
    if (signer) this.adoptSigner(signer);
    const status = this.trustStatus();
    this.auditSafe('it', 'device.enroll', {
      hall_id: status.hall_id,
      window_id: status.window_id,
      signing: status.signing,
    });
    return status;
  }

  /** Every client of the hub signs with the new key from its next request. */
  private adoptSigner(signer: RequestSigner): void {
    this.signer = signer;
    this.sync.setSigner(signer);
    this.sync.kick();
    this.heartbeat.setSigner(signer);
    // Config bundles: verified with the hub key from this enrollment, pulled signed at once.
    this.configSync.setTrust(signer, this.enrollmentOrNull());
    void this.configSync.pull();
  }

  /** Prunes acked ratings past retention; never fatal (a full disk or a closed store just waits for the next hour). */
  async prune(): Promise<number> {
    try {
      const r = await this.store.pruneAcked(this.opts.config.retention_days);
      return r.pruned;
    } catch (e) {
      if (this.store.db.open) process.emitWarning(`retention pruning failed: ${(e as Error).message}`);
      return 0;
    }
  }

  start(): void {
    this.sync.start();
    this.heartbeat.start();
    this.configSync.start();
    void this.prune();
    this.checkUnstaffed();
    this.writeRuntime();
  }

  private recordPresence(change: PresenceChange): void {
    try {
      this.store.transact(() => {
        this.presence.append(change);
        this.audit.append(
          change.staff_no ? `staff:${change.staff_no}` : 'system',
          `presence.${change.event}`,
          {
            state: change.state,
            reason: change.reason,
          },
        );
      });
    } catch (e) {
      process.emitWarning(`cannot write presence ${change.event}: ${(e as Error).message}`);
    }
    this.checkUnstaffed();
  }

  /** 窗口不空岗: no signed-in staff during opening hours for longer than the configured minutes. */
  checkUnstaffed(): void {
    const at = this.now();
    const staffed = this.session.state() !== 'signed_out';
    const open = isOpenAt(this.opts.config.opening_hours, at);
    if (staffed || !open) {
      this.unstaffedSince = null;
      if (this.unstaffedAlarm) {
        this.auditSafe('system', 'alarm.cleared', { kind: 'unstaffed' });
        this.unstaffedAlarm = null;
        this.emit('session', this.session.view());
      }
      return;
    }
    this.unstaffedSince ??= at.getTime();
    const limitMs = this.opts.config.unstaffed_alarm_min * 60_000;
    if (!this.unstaffedAlarm && at.getTime() - this.unstaffedSince >= limitMs) {
      this.unstaffedAlarm = {
        kind: 'unstaffed',
        since: new Date(this.unstaffedSince).toISOString(),
        message: `${this.opts.config.window_name}在办公时间内无人签到超过 ${this.opts.config.unstaffed_alarm_min} 分钟（窗口不空岗）`,
      };
      this.auditSafe('system', 'alarm.raised', { kind: 'unstaffed', since: this.unstaffedAlarm.since });
      this.writeRuntime();
    }
  }

  /**
   * Staff sign in with staff number and PIN. Argon2 verification is asynchronous; a wrong PIN
   * counts towards a lock of that staff number, and the reply never says which part was wrong.
   */
  async signIn(staffNo: string, pin: string): Promise<SessionView> {
    const at = this.now().getTime();
    const failures = this.pinFailures.get(staffNo);
    if (failures && failures.lockedUntil > at) {
      const left = Math.ceil((failures.lockedUntil - at) / 1000);
      throw new CodedError('LOCKED', `密码错误次数过多，请 ${left} 秒后再试 (locked for ${left} s)`);
    }
    const staff = this.opts.config.roster.find((s) => s.staff_no === staffNo);
    // Verify against a real hash even for an unknown number, so timing does not reveal the roster.
    const good = await verifyPin(staff?.pin_hash ?? this.opts.config.roster[0]?.pin_hash ?? null, pin);
    if (!staff || !good) {
      const count = (failures?.count ?? 0) + 1;
      const max = this.opts.config.pin_max_attempts;
      const locked = count >= max;
      this.pinFailures.set(staffNo, {
        count: locked ? 0 : count,
        lockedUntil: locked ? at + this.opts.config.pin_lock_s * 1000 : 0,
      });
      this.auditSafe(`staff:${staffNo}`, 'presence.sign_in_failed', { locked });
      if (locked)
        throw new CodedError(
          'LOCKED',
          `密码错误次数过多，请 ${this.opts.config.pin_lock_s} 秒后再试 (locked for ${this.opts.config.pin_lock_s} s)`,
        );
      throw new CodedError('BAD_CREDENTIALS', '工号或密码不正确 (staff number or PIN is wrong)');
    }
    this.pinFailures.delete(staffNo);
    return this.session.signIn(staff);
  }

  signOut(): SessionView {
    return this.session.signOut();
  }

  pause(reason: PauseReason): SessionView {
    return this.session.pause(reason);
  }

  resume(): SessionView {
    return this.session.resume();
  }

  /** A window that closed with no rating (time-out, or staff signed out): recorded as 未评价. */
  private recordNotRated(w: TimedOutWindow): void {
    const given = notRatedGiven();
    try {
      this.store.transact(() => {
        const record = this.store.commitRating(
          given,
          this.session.context(w.staff, w.case, w.openedAt, 'timeout', null, []),
        );
        this.audit.append('system', 'rating.timed_out', { seq: record.seq, case_ref: record.case_ref });
      });
    } catch (e) {
      process.emitWarning(`cannot record 未评价: ${(e as Error).message}`);
    }
    this.sync.kick();
  }

  /**
   * The pad's KEY handler: returns the EVP/1 ACK status only once the outcome is durably
   * committed (0 rating, 1 recorded but not a rating, 2 cannot store). A press seen before
   * (same boot_id and press_id, e.g. retransmitted after a reconnect) gets its first outcome again.
   * A 差评 from the pad is stored at once with "reason not given": the pad has no reason step.
   */
  handlePadPress(press: PadPressEvent): PressOutcome {
    const level = levelOfKey(this.opts.config, press.key);
    if (level === null) return 1;
    let result: ReturnType<CounterStore['commitPress']>;
    try {
      // The rating and its audit entry commit together (nested transactions are savepoints).
      result = this.store.transact(() => {
        const decided: { v: PressDecision | null } = { v: null };
        const r = this.store.commitPress(press, () => {
          decided.v = this.session.decide(plainGiven(level, this.opts.config.reasons.version), 'pad', {
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
      });
    } catch (e) {
      process.emitWarning(`cannot store pad press: ${(e as Error).message}`);
      return 2;
    }
    if (result.record) this.afterRating(result.record);
    return result.outcome;
  }

  /** Staff open a rating window for the citizen in front of them (case typed by staff, or none: 一次一评). */
  openRating(caseRef: string | null, actor?: string): SessionView {
    const info: CaseInfo | null = caseRef
      ? {
          case_ref: caseRef,
          item_code: null,
          item_name: null,
          case_status: null,
          accepted_at: null,
          finished_at: null,
          dept_id: null,
          rater_type: 'unknown',
          anonymous_allowed: false,
          rater: null,
        }
      : null;
    return this.openCase(info, actor ?? this.staffActor(), actor?.startsWith('api:') ? 'api' : 'staff');
  }

  /** Opens a rating window for a case; 一事一评 items refuse a case that already has its rating. */
  openCase(info: CaseInfo | null, actor: string, by: Opener): SessionView {
    if (info && this.itemMode(info.item_code) === 'per_case' && caseIsRated(this.store.db, info.case_ref))
      throw new CodedError('CASE_ALREADY_RATED', `办件 ${info.case_ref} 已评价（一事一评）`);
    this.refuseIfStoreDown();
    const view = this.session.open(info, by);
    this.auditSafe(actor, 'rating.open', { case_ref: info?.case_ref ?? null, expires_at: view.expires_at });
    return view;
  }

  /** 一事一评 or 一次一评 for an item, from the configuration. */
  itemMode(itemCode: string | null): 'per_case' | 'per_visit' {
    const item = itemCode ? this.opts.config.items.find((i) => i.code === itemCode) : undefined;
    return item?.mode ?? this.opts.config.default_item_mode;
  }

  cancelRating(actor?: string): SessionView {
    const before = this.session.view();
    const view = this.session.cancel();
    if (before.state === 'rating_open')
      this.auditSafe(actor ?? this.staffActor(), 'rating.cancel', { case_ref: before.case_ref });
    return view;
  }

  activity(): SessionView {
    return this.session.activity();
  }

  private staffActor(): string {
    const s = this.session.signedIn();
    return s ? `staff:${s.staff_no}` : 'system';
  }

  /** The audit entry of a committed rating: which rating, never its level or reason (threat T2). */
  private auditRating(record: RatingRecord): void {
    this.audit.append('citizen', 'rating.committed', {
      seq: record.seq,
      event_id: record.event_id,
      case_ref: record.case_ref,
      source: record.source,
      staff_no: record.staff_no,
      signals: record.signals,
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

  private refuseIfStoreDown(): void {
    const health = this.storeView().health;
    if (health !== 'ok')
      throw new CodedError(
        'STORE_UNAVAILABLE',
        `评价暂时无法保存，请联系信息中心 (the store cannot take ratings: ${this.storeView().message ?? health})`,
      );
  }

  /** What the citizen screen gives, checked against the reason dictionary; a 差评 needs a reason of its level unless the step timed out. */
  private screenGiven(input: ScreenRatingInput): RatingGiven {
    const dict = this.opts.config.reasons;
    const bad = input.level <= 2;
    const reasons = [...new Set(input.reasons ?? [])];
    if (!bad && reasons.length > 0)
      throw new CodedError(
        'BAD_REQUEST',
        '只有差评需要选择原因 (reasons are only for 不满意 and 非常不满意)',
      );
    for (const code of reasons)
      if (!dict.reasons.some((r) => r.code === code && r.level === input.level))
        throw new CodedError(
          'BAD_REQUEST',
          `原因代码 ${code} 不属于该评价等级 (reason ${code} is not a reason of level ${input.level})`,
        );
    if (bad && reasons.length === 0 && !input.reason_timed_out)
      throw new CodedError('REASON_REQUIRED', '请选择不满意的原因 (choose at least one reason)');
    return {
      level: input.level,
      reasons,
      reason_status: !bad ? 'not_required' : reasons.length > 0 ? 'given' : 'not_given',
      reason_dict_version: bad ? dict.version : null,
      dimensions: input.dimensions && Object.keys(input.dimensions).length > 0 ? input.dimensions : null,
      free_text: input.free_text ?? null,
      anonymous: input.anonymous ?? false,
    };
  }

  /** A rating given on the citizen screen: committed before the caller hears back. */
  submitScreenRating(input: ScreenRatingInput): { receipt: string } {
    const source = input.source ?? 'screen';
    const given = this.screenGiven(input);
    if (this.session.state() !== 'rating_open')
      throw new CodedError('NO_RATING_OPEN', '当前没有待评价的服务 (no rating window is open)');
    let record: RatingRecord;
    try {
      record = this.store.transact(() => {
        const decision = this.session.decide(given, source, null);
        if (!decision.rate)
          throw new CodedError('NO_RATING_OPEN', '当前没有待评价的服务 (no rating window is open)');
        const r = this.store.commitRating(decision.given, decision.ctx);
        this.auditRating(r);
        return r;
      });
    } catch (e) {
      if (e instanceof CodedError) throw e;
      throw new CodedError(
        'STORE_UNAVAILABLE',
        `评价未能保存 (the store cannot commit: ${(e as Error).message})`,
      );
    }
    return { receipt: this.afterRating(record) };
  }

  private afterRating(record: RatingRecord): string {
    const receipt = receiptCode(record.event_id);
    this.session.rated(receipt);
    this.sync.kick();
    this.emit('sync', this.sync.view());
    return receipt;
  }

  reasons(): ReasonDictionary {
    return this.opts.config.reasons;
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

  storeView(): StoreView {
    return this.store.view();
  }

  alarms(): Alarm[] {
    const list: Alarm[] = [];
    if (this.unstaffedAlarm) list.push(this.unstaffedAlarm);
    if (this.pad.alarm)
      list.push({
        kind: 'pad_stuck_key',
        since: this.pad.alarm.since,
        message: `评价器按键卡住或故障 (pad ${this.pad.alarm.kind}${this.pad.alarm.key ? `, key ${this.pad.alarm.key}` : ''})`,
      });
    const store = this.storeView();
    if (store.health !== 'ok')
      list.push({ kind: 'store', since: this.now().toISOString(), message: store.message ?? store.health });
    const deadLetter = this.sync.deadLetterAlarm();
    if (deadLetter) list.push(deadLetter);
    // A refused config bundle: the old config stays in force, but IT must look (tampering, a wrong hub key).
    const refused = this.configSync?.view().refused;
    if (refused) list.push({ kind: 'config', since: refused.at, message: refused.reason });
    return list;
  }

  status(): CounterStatus {
    return {
      device_id: this.store.deviceId,
      session: this.session.view(),
      open_case: this.session.openCase()?.case_ref ?? null,
      pad: this.pad,
      sync: this.sync.view(),
      store: this.storeView(),
      alarms: this.alarms(),
    };
  }

  /** What `haocha status` cannot read from the store: the live pad link, session and alarms, written atomically. */
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
          open_case: this.session.openCase()?.case_ref ?? null,
          hub: this.sync.view().hub,
          sync: this.sync.view(),
          heartbeat: this.heartbeat?.view() ?? null,
          store: this.storeView(),
          alarms: this.alarms(),
          config: this.configSync?.view() ?? null,
        }),
      );
      renameSync(tmp, this.runtimeFile);
    } catch {
      // Status reporting must never take the counter down (e.g. on a full disk).
    }
  }

  async close(): Promise<void> {
    clearInterval(this.alarmTimer);
    clearInterval(this.pruneTimer);
    this.sync.stop();
    this.heartbeat.stop();
    this.configSync.stop();
    this.session.close();
    this.store.close();
  }
}

/** Whether a case already has a rating (a 未评价 record does not count: the case may be rated again). */
export function caseIsRated(db: CounterStore['db'], caseRef: string): boolean {
  return (
    db.prepare("SELECT 1 FROM ratings WHERE case_ref = ? AND outcome = 'rated' LIMIT 1").get(caseRef) !==
    undefined
  );
}

/** argon2id verification; a missing hash still costs one verification so timing reveals nothing. */
async function verifyPin(hash: string | null, pin: string): Promise<boolean> {
  if (!hash) return false;
  try {
    return await argon2Verify(hash, pin);
  } catch {
    return false;
  }
}
