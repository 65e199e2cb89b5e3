import { EventEmitter } from 'node:events';
import { assign, createActor, emit, setup } from 'xstate';
import {
  CodedError,
  type FraudSignal,
  type Level,
  type PauseReason,
  type RaterType,
  type SessionView,
  type StaffView,
} from '../../src-shared/index.ts';
import type { CounterConfig } from './config.ts';
import { isOpenAt } from './opening-hours.ts';
import type { PressDecision, RatingContext, RatingGiven } from './store/counter-store.ts';

export type RosterEntry = CounterConfig['roster'][number];

/** The case being rated, as the business system described it (or null: 一次一评 with no case). */
export interface CaseInfo {
  case_ref: string;
  item_code: string | null;
  item_name: string | null;
  case_status: string | null;
  accepted_at: string | null;
  finished_at: string | null;
  dept_id: string | null;
  rater_type: RaterType;
  anonymous_allowed: boolean;
  rater: { name: string | null; phone: string | null } | null;
}

/** Who opened a rating window: staff on this terminal (an anti-fraud signal if rated at once) or the business system. */
export type Opener = 'staff' | 'api';

/** A presence change for the log (窗口不空岗): every sign-in, pause, resume and sign-out. */
export interface PresenceChange {
  event: 'sign_in' | 'auto_sign_in' | 'sign_out' | 'pause' | 'resume' | 'restart';
  state: 'signed_out' | 'idle' | 'paused';
  staff_no: string | null;
  reason: string | null;
}

/** What the presence log said last, so a restarted counter keeps its staff signed in. */
export interface PresenceRestore {
  state: 'signed_out' | 'idle' | 'paused';
  staff_no: string | null;
  reason: string | null;
}

/** A rating window that closed with no rating: the counter records 未评价 for it. */
export interface TimedOutWindow {
  staff: RosterEntry;
  case: CaseInfo | null;
  openedAt: Date;
  openedBy: Opener;
}

interface Ctx {
  staff: RosterEntry | null;
  pauseReason: PauseReason | null;
  case: CaseInfo | null;
  openedAt: Date | null;
  openedBy: Opener | null;
  expiresAt: Date | null;
  receipt: string | null;
}

type Ev =
  | { type: 'SIGN_IN'; staff: RosterEntry }
  | { type: 'SIGN_OUT' }
  | { type: 'PAUSE'; reason: PauseReason }
  | { type: 'RESUME' }
  | { type: 'OPEN'; case: CaseInfo | null; by: Opener; at: Date; expiresAt: Date }
  | { type: 'CANCEL' }
  | { type: 'ACTIVITY'; expiresAt: Date }
  | { type: 'RATED'; receipt: string };

type Emitted = { type: 'timedOut'; window: TimedOutWindow };

interface Input {
  restore: PresenceRestore | null;
  roster: readonly RosterEntry[];
}

const closed = { case: null, openedAt: null, openedBy: null, expiresAt: null, receipt: null } as const;

/**
 * The counter session as a statechart (xstate): it has grown past the three hand-written states
 * of the walking skeleton (sign-in, pause, cases, time-outs, restore after a crash), and a chart
 * makes every allowed transition explicit and testable by model. Side effects (store writes,
 * presence log) stay outside: the machine emits, the Counter commits.
 */
export const sessionMachine = setup({
  types: { context: {} as Ctx, events: {} as Ev, input: {} as Input, emitted: {} as Emitted },
  // Placeholders: CounterSession provides both against its own clock and configuration.
  delays: { ratingTimeout: 60_000, thanks: 5_000 },
  guards: {
    restoredIdle: ({ context }) => context.staff !== null && context.pauseReason === null,
    restoredPaused: ({ context }) => context.staff !== null && context.pauseReason !== null,
  },
  actions: {
    signIn: assign(({ event }) =>
      event.type === 'SIGN_IN' ? { staff: event.staff, pauseReason: null } : {},
    ),
    signOut: assign({ staff: null, pauseReason: null, ...closed }),
    pause: assign(({ event }) => (event.type === 'PAUSE' ? { pauseReason: event.reason } : {})),
    resume: assign({ pauseReason: null }),
    open: assign(({ event }) =>
      event.type === 'OPEN'
        ? {
            case: event.case,
            openedBy: event.by,
            openedAt: event.at,
            expiresAt: event.expiresAt,
            receipt: null,
          }
        : {},
    ),
    extend: assign(({ event }) => (event.type === 'ACTIVITY' ? { expiresAt: event.expiresAt } : {})),
    rated: assign(({ event }) => (event.type === 'RATED' ? { receipt: event.receipt, expiresAt: null } : {})),
    close: assign({ ...closed }),
    timedOut: emit(({ context }) => ({
      type: 'timedOut' as const,
      window: {
        staff: context.staff as RosterEntry,
        case: context.case,
        openedAt: context.openedAt as Date,
        openedBy: context.openedBy as Opener,
      },
    })),
  },
}).createMachine({
  id: 'counterSession',
  context: ({ input }) => {
    const r = input.restore;
    const staff = r?.staff_no ? (input.roster.find((s) => s.staff_no === r.staff_no) ?? null) : null;
    return {
      staff: r && r.state !== 'signed_out' ? staff : null,
      pauseReason: r?.state === 'paused' && staff ? ((r.reason as PauseReason | null) ?? 'other') : null,
      ...closed,
    };
  },
  initial: 'booting',
  states: {
    // Restore who was signed in before a restart; an open rating window is not restored.
    booting: {
      always: [
        { guard: 'restoredPaused', target: 'paused' },
        { guard: 'restoredIdle', target: 'idle' },
        { target: 'signed_out' },
      ],
    },
    signed_out: {
      on: { SIGN_IN: { target: 'idle', actions: 'signIn' } },
    },
    idle: {
      on: {
        OPEN: { target: 'rating_open', actions: 'open' },
        PAUSE: { target: 'paused', actions: 'pause' },
        SIGN_OUT: { target: 'signed_out', actions: 'signOut' },
      },
    },
    paused: {
      on: {
        RESUME: { target: 'idle', actions: 'resume' },
        SIGN_OUT: { target: 'signed_out', actions: 'signOut' },
      },
    },
    rating_open: {
      after: { ratingTimeout: { target: 'idle', actions: ['timedOut', 'close'] } },
      on: {
        RATED: { target: 'thanks', actions: 'rated' },
        CANCEL: { target: 'idle', actions: 'close' },
        // Any touch restarts the idle limit (ui-guidelines): re-enter to restart the timer.
        ACTIVITY: { target: 'rating_open', reenter: true, actions: 'extend' },
        SIGN_OUT: { target: 'signed_out', actions: 'signOut' },
      },
    },
    thanks: {
      after: { thanks: { target: 'idle', actions: 'close' } },
      on: {
        OPEN: { target: 'rating_open', actions: 'open' },
        CANCEL: { target: 'idle', actions: 'close' },
        PAUSE: { target: 'paused', actions: ['close', 'pause'] },
        SIGN_OUT: { target: 'signed_out', actions: 'signOut' },
      },
    },
  },
});

type StateName = 'booting' | 'signed_out' | 'idle' | 'paused' | 'rating_open' | 'thanks';

export interface SessionOptions {
  now?: () => Date;
  restore?: PresenceRestore | null;
}

type SessionEvents = {
  change: [SessionView];
  presence: [PresenceChange];
  timedOut: [TimedOutWindow];
};

/**
 * The counter's session: who serves at this window and whether a citizen may rate now. Wraps the
 * statechart with the rules that need the clock and the configuration: which presses count
 * (first press wins, repeats within the ignore window are logged as ignored) and the misuse
 * signals recorded with each rating.
 */
export class CounterSession extends EventEmitter<SessionEvents> {
  private readonly actor;
  private readonly now: () => Date;
  /** Wall-clock ms of recent presses (rating or not), for the burst signal. */
  private recentPresses: number[] = [];
  private lastRatedAt: number | null = null;

  constructor(
    private readonly config: CounterConfig,
    opts: SessionOptions = {},
  ) {
    super();
    this.now = opts.now ?? (() => new Date());
    const now = this.now;
    const machine = sessionMachine.provide({
      delays: {
        // Delays measured against the session's own clock, so a wrong wall clock cannot shorten them.
        ratingTimeout: ({ context }) =>
          context.expiresAt ? Math.max(0, context.expiresAt.getTime() - now().getTime()) : 0,
        thanks: () => config.thanks_s * 1000,
      },
    });
    this.actor = createActor(machine, {
      input: {
        restore: opts.restore ?? null,
        roster: config.roster,
      },
    });
    this.actor.on('timedOut', (e) => this.emit('timedOut', e.window));
    let last = '';
    this.actor.subscribe(() => {
      const v = this.view();
      const key = JSON.stringify(v);
      if (key !== last) {
        last = key;
        this.emit('change', v);
      }
    });
    // The restart itself is logged by the Counter, which knows what the log said last.
    this.actor.start();
  }

  private ctx(): Ctx {
    return this.actor.getSnapshot().context;
  }

  state(): Exclude<StateName, 'booting'> {
    return this.actor.getSnapshot().value as Exclude<StateName, 'booting'>;
  }

  signedIn(): RosterEntry | null {
    return this.ctx().staff;
  }

  staff(): StaffView | null {
    const s = this.ctx().staff;
    if (!s) return null;
    return {
      staff_no: s.staff_no,
      name: s.name,
      window_id: this.config.window_id,
      hall_id: this.config.hall_id,
      photo_url: s.photo_url,
    };
  }

  view(): SessionView {
    const c = this.ctx();
    const state = this.state();
    const open = state === 'rating_open' || state === 'thanks';
    return {
      state,
      staff: this.staff(),
      case_ref: open ? (c.case?.case_ref ?? null) : null,
      opened_at: state === 'rating_open' && c.openedAt ? c.openedAt.toISOString() : null,
      expires_at: state === 'rating_open' && c.expiresAt ? c.expiresAt.toISOString() : null,
      receipt: state === 'thanks' ? c.receipt : null,
      pause_reason: state === 'paused' ? c.pauseReason : null,
      case:
        state === 'rating_open' && c.case
          ? { item_name: c.case.item_name, anonymous_allowed: c.case.anonymous_allowed }
          : null,
    };
  }

  /** The case whose rating window is open now. */
  openCase(): CaseInfo | null {
    return this.state() === 'rating_open' ? this.ctx().case : null;
  }

  /** Credentials are checked by the caller (argon2 is asynchronous); this records who signed in. */
  signIn(staff: RosterEntry, auto = false): SessionView {
    const current = this.ctx().staff;
    if (current && current.staff_no !== staff.staff_no)
      throw new CodedError('SIGNED_IN', `${current.name}（${current.staff_no}）已签到，请先签退`);
    if (this.state() !== 'signed_out') return this.view();
    this.actor.send({ type: 'SIGN_IN', staff });
    this.emit('presence', {
      event: auto ? 'auto_sign_in' : 'sign_in',
      state: 'idle',
      staff_no: staff.staff_no,
      reason: null,
    });
    return this.view();
  }

  /** Signing out closes an open rating window unrated (it is recorded as a time-out would be). */
  signOut(): SessionView {
    const state = this.state();
    if (state === 'signed_out') return this.view();
    const staff = this.ctx().staff;
    const window = this.openWindow();
    this.actor.send({ type: 'SIGN_OUT' });
    if (window) this.emit('timedOut', window);
    this.emit('presence', {
      event: 'sign_out',
      state: 'signed_out',
      staff_no: staff?.staff_no ?? null,
      reason: null,
    });
    return this.view();
  }

  pause(reason: PauseReason): SessionView {
    const state = this.state();
    if (state === 'paused') return this.view();
    if (state === 'signed_out') throw new CodedError('NOT_SIGNED_IN', '请先签到 (no staff signed in)');
    if (state === 'rating_open')
      throw new CodedError('RATING_OPEN', '正在评价中，请先关闭评价 (close the open rating first)');
    this.actor.send({ type: 'PAUSE', reason });
    this.emit('presence', {
      event: 'pause',
      state: 'paused',
      staff_no: this.ctx().staff?.staff_no ?? null,
      reason,
    });
    return this.view();
  }

  resume(): SessionView {
    if (this.state() !== 'paused') return this.view();
    this.actor.send({ type: 'RESUME' });
    this.emit('presence', {
      event: 'resume',
      state: 'idle',
      staff_no: this.ctx().staff?.staff_no ?? null,
      reason: null,
    });
    return this.view();
  }

  open(caseInfo: CaseInfo | null, by: Opener): SessionView {
    const state = this.state();
    if (state === 'signed_out')
      throw new CodedError('NOT_SIGNED_IN', '窗口无人签到，不能评价 (no staff signed in at this window)');
    if (state === 'paused') throw new CodedError('PAUSED', '窗口暂停服务 (the window is paused)');
    if (state === 'rating_open')
      throw new CodedError('RATING_OPEN', '已有评价正在进行 (a rating is already open)');
    const at = this.now();
    const expiresAt = new Date(at.getTime() + this.config.rating_timeout_s * 1000);
    this.actor.send({ type: 'OPEN', case: caseInfo, by, at, expiresAt });
    return this.view();
  }

  cancel(): SessionView {
    const s = this.state();
    if (s === 'rating_open' || s === 'thanks') this.actor.send({ type: 'CANCEL' });
    return this.view();
  }

  activity(): SessionView {
    if (this.state() === 'rating_open')
      this.actor.send({
        type: 'ACTIVITY',
        expiresAt: new Date(this.now().getTime() + this.config.rating_timeout_s * 1000),
      });
    return this.view();
  }

  private openWindow(): TimedOutWindow | null {
    const c = this.ctx();
    if (this.state() !== 'rating_open' || !c.staff || !c.openedAt || !c.openedBy) return null;
    return { staff: c.staff, case: c.case, openedAt: c.openedAt, openedBy: c.openedBy };
  }

  /**
   * Decides, inside the store's transaction, what a level given now becomes. `given` is what the
   * citizen gave (level, reasons, …); for a pad press it is the bare level.
   */
  decide(given: RatingGiven, source: RatingContext['source'], pad: RatingContext['pad']): PressDecision {
    const at = this.now().getTime();
    const windowMs = this.config.burst_window_s * 1000;
    this.recentPresses = this.recentPresses.filter((t) => at - t < windowMs && t <= at);
    const burst = this.recentPresses.length + 1 >= this.config.burst_presses;
    this.recentPresses.push(at);
    const state = this.state();
    if (state !== 'rating_open') {
      const reason =
        state === 'signed_out'
          ? 'not_staffed'
          : state === 'paused'
            ? 'paused'
            : state === 'thanks' ||
                (this.lastRatedAt !== null && at - this.lastRatedAt < this.config.ignore_window_s * 1000)
              ? 'ignored_repeat'
              : 'no_rating_open';
      return { rate: false, reason };
    }
    const c = this.ctx();
    const staff = c.staff as RosterEntry;
    const signals: FraudSignal[] = [];
    if (!c.case) signals.push('no_case');
    if (burst) signals.push('burst');
    if (
      c.openedBy === 'staff' &&
      c.openedAt &&
      at - c.openedAt.getTime() < this.config.after_staff_action_s * 1000
    )
      signals.push('after_staff_action');
    if (!isOpenAt(this.config.opening_hours, new Date(at))) signals.push('off_hours');
    return {
      rate: true,
      given: c.case?.anonymous_allowed || !given.anonymous ? given : { ...given, anonymous: false },
      ctx: this.context(staff, c.case, c.openedAt as Date, source, pad, signals),
    };
  }

  /** The record context of a window: shared by ratings and by 未评价 records. */
  context(
    staff: RosterEntry,
    caseInfo: CaseInfo | null,
    openedAt: Date,
    source: RatingContext['source'],
    pad: RatingContext['pad'],
    signals: FraudSignal[],
  ): RatingContext {
    const cfg = this.config;
    return {
      channel: cfg.channel,
      case_ref: caseInfo?.case_ref ?? null,
      item_code: caseInfo?.item_code ?? null,
      item_name: caseInfo?.item_name ?? null,
      case_status: caseInfo?.case_status ?? null,
      accepted_at: caseInfo?.accepted_at ?? null,
      finished_at: caseInfo?.finished_at ?? null,
      dept_id: caseInfo?.dept_id ?? cfg.dept_id,
      rater_type: caseInfo?.rater_type ?? 'unknown',
      rater: caseInfo?.rater ?? null,
      staff_no: staff.staff_no,
      staff_name: staff.name,
      window_id: cfg.window_id,
      hall_id: cfg.hall_id,
      config_version: cfg.config_version,
      opened_at: openedAt.toISOString(),
      source,
      pad,
      signals,
    };
  }

  /** Called after a rating is committed: the window closes (first press wins) and the citizen sees thanks. */
  rated(receipt: string): void {
    this.lastRatedAt = this.now().getTime();
    if (this.state() === 'rating_open') this.actor.send({ type: 'RATED', receipt });
  }

  close(): void {
    this.actor.stop();
  }
}

/** The level of a pad key, or null when the profile maps it to nothing. */
export function levelOfKey(config: CounterConfig, key: number): Level | null {
  const level = config.key_levels[key - 1];
  return level === undefined || level < 1 || level > 5 ? null : (level as Level);
}

/** A short receipt code the citizen can check on the public page later: derived from the event id. */
export function receiptCode(eventId: string): string {
  const hex = eventId.replace(/-/g, '');
  return `${hex.slice(-8, -4)}-${hex.slice(-4)}`.toUpperCase();
}
