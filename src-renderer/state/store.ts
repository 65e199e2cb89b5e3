import { createStore, type StoreApi } from 'zustand/vanilla';
import type {
  Alarm,
  CallInput,
  PadView,
  PauseReason,
  ReasonDictionary,
  SessionView,
  StoreView,
  SyncView,
  TrustStatus,
} from '../../src-shared/calls.ts';
import { isBadRating, type Level } from '../../src-shared/levels.ts';
import type { Err, Result } from '../../src-shared/result.ts';
import type { Client } from '../client/client.ts';
import type { ConnectionState } from '../client/transport.ts';

/**
 * The citizen's submission, from 提交 (or a wedge press, or the reason step's time-out) to commit.
 * Only the citizen screen reads it, and `level` lives only while the call is pending (for the
 * pressed state): the thank-you never depends on it (ui-guidelines §2, threat T2).
 */
export type SubmitState =
  | { phase: 'none' }
  | { phase: 'pressed'; level: Level; slow: boolean }
  | { phase: 'failed'; code: Err['error']['code'] | 'TIMEOUT' }
  | { phase: 'done'; receipt: string };

/**
 * What the citizen has chosen so far in the open rating window (ui-guidelines §1 Steps, §2):
 * level → 提交, or for a 差评 level → reasons → 提交. Citizen screen only; reset with every new window.
 */
export interface CitizenDraft {
  level: Level | null;
  step: 'level' | 'reason';
  reasons: string[];
  anonymous: boolean;
  /** The reason step times out within 20 s (ui-guidelines §1): one touch extends it. */
  expiring: boolean;
}

export type StaffBusy = 'open' | 'cancel' | 'sign_in' | 'sign_out' | 'pause' | 'resume';
export type StaffAction = { busy: StaffBusy | null; error: Err['error'] | null };

export interface DeviceSlice {
  deviceId: string | null;
  session: SessionView | null;
  pad: PadView | null;
  sync: SyncView | null;
  /** Can the store take a rating (from status.get, reloaded every few seconds: no event carries it). */
  store: StoreView | null;
  alarms: Alarm[];
  /** The 差评 reason dictionary (reasons.get), null until loaded. */
  reasons: ReasonDictionary | null;
  connection: ConnectionState;
  /** True once status.get has answered: until then the screens show a neutral waiting state. */
  loaded: boolean;
}

export interface Actions {
  /** Subscribe to the client's events and load the status; returns the stop function. */
  start(): () => void;
  refresh(): Promise<void>;
  loadReasons(): Promise<void>;

  // ---- citizen screen ----
  /** A tap on a level: selects it (then 提交), or for a 差评 opens the reason step. */
  chooseLevel(level: Level): void;
  toggleReason(code: string): void;
  /** 返回重选: back to the five levels, nothing selected. */
  backToLevels(): void;
  toggleAnonymous(): void;
  /** 提交: sends the draft; a 差评 needs at least one reason. */
  submitDraft(): Promise<void>;
  /** A wedge pad's key (see wedge.ts): the press is the rating, except a 差评 goes to the reason step. */
  wedgePress(level: Level): Promise<void>;
  /** Any touch or key on the citizen screen while rating: restarts the idle limits (throttled). */
  touch(): void;

  // ---- staff screen ----
  openRating(caseRef: string): Promise<boolean>;
  cancelRating(): Promise<boolean>;
  signIn(staffNo: string, pin: string): Promise<boolean>;
  signOut(): Promise<boolean>;
  pause(reason: PauseReason): Promise<boolean>;
  resume(): Promise<boolean>;
  clearStaffError(): void;

  // ---- provisioning panel (IT staff) ----
  trustStatus(): Promise<Result<TrustStatus>>;
  /** Enrolls this terminal with a hub token; the hub URL only when the scanned QR code carries one. */
  enroll(token: string, hubUrl?: string): Promise<Result<TrustStatus>>;
}

export type AppState = DeviceSlice & {
  submit: SubmitState;
  draft: CitizenDraft;
  staff: StaffAction;
} & Actions;
export type AppStore = StoreApi<AppState>;

export interface StoreOptions {
  /** After this long without an answer the citizen sees 正在提交… (ui-guidelines §1: 1 s). */
  slowMs?: number;
  /** After this long without an answer the press counts as failed (ui-guidelines §1: 10 s). */
  timeoutMs?: number;
  /** At most one `rating.activity` per this many ms (the last touch of a burst is still sent). */
  activityMs?: number;
  /** Idle limit of the reason step (ui-guidelines §1: 60 s, any touch restarts it). */
  reasonIdleMs?: number;
  /** The reason step ends this long before the rating window's own expiry, so the level is kept. */
  reasonMarginMs?: number;
  /** The warning comes this long before the reason step ends (ui-guidelines §1: 20 s). */
  reasonWarnMs?: number;
  /** status.get is reloaded this often (store health and alarms have no event); 0 = never. */
  statusPollMs?: number;
}

const NONE: SubmitState = { phase: 'none' };
const NO_DRAFT: CitizenDraft = { level: null, step: 'level', reasons: [], anonymous: false, expiring: false };

/** A new rating window (or none) starts: whatever the citizen's last touch was, it no longer applies. */
function startsNewRating(prev: SessionView | null, next: SessionView): boolean {
  if (next.state === 'rating_open') return prev?.state !== 'rating_open' || prev.opened_at !== next.opened_at;
  return next.state !== 'thanks';
}

export function storeHealthy(s: Pick<DeviceSlice, 'store'>): boolean {
  return s.store === null || s.store.health === 'ok';
}

export function createAppStore(client: Client, options: StoreOptions = {}): AppStore {
  const slowMs = options.slowMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const activityMs = options.activityMs ?? 5000;
  const reasonIdleMs = options.reasonIdleMs ?? 60_000;
  const reasonMarginMs = options.reasonMarginMs ?? 3000;
  const reasonWarnMs = options.reasonWarnMs ?? 20_000;
  const statusPollMs = options.statusPollMs ?? 10_000;
  /** Bumped whenever the citizen's touch stops applying; late replies from an older touch are ignored. */
  let rating = 0;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const seen = { session: 0, pad: 0, sync: 0 };
  /** Reason-step timers (warning, end), re-armed by every touch. */
  let reasonTimers: Array<ReturnType<typeof setTimeout>> = [];
  let lastTouch = 0;
  /** Throttle of rating.activity: when the last one was sent, and whether a touch waits for the next slot. */
  let lastActivity = Number.NEGATIVE_INFINITY;
  /** The level on screen came from a keyboard-wedge key (recorded as source 'wedge'), not a touch. */
  let chosenByWedge = false;
  let activityPending = false;

  function later(ms: number, fn: () => void): ReturnType<typeof setTimeout> {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
    return t;
  }
  function clearReasonTimers(): void {
    for (const t of reasonTimers) {
      clearTimeout(t);
      timers.delete(t);
    }
    reasonTimers = [];
  }

  return createStore<AppState>()((set, get) => {
    function applySession(next: SessionView): void {
      seen.session += 1;
      const prev = get().session;
      if (startsNewRating(prev, next)) {
        rating += 1;
        clearReasonTimers();
        activityPending = false;
        set({ session: next, submit: NONE, draft: NO_DRAFT });
        if (next.state === 'rating_open') armReasonTimer();
      } else {
        set({ session: next });
        // The window's expiry moved (rating.activity): the idle limits move with it.
        if (prev?.expires_at !== next.expires_at) armReasonTimer();
      }
    }
    function applyPad(pad: PadView): void {
      seen.pad += 1;
      set({ pad });
    }
    function applySync(sync: SyncView): void {
      seen.sync += 1;
      set({ sync });
    }

    /** Can the citizen's choice still change? Not while a submission is pending or done. */
    function citizenMayAct(): boolean {
      const { session, submit } = get();
      return session?.state === 'rating_open' && submit.phase !== 'pressed' && submit.phase !== 'done';
    }

    /**
     * The idle limits of the citizen's screen (ui-guidelines §1: a warning 20 s before the end, one
     * touch extends). The five levels: the rating window's own expiry (`expires_at`, restarted by
     * rating.activity); at its end the core records 未评价. The reason step ends after
     * `reasonIdleMs` without a touch, and in any case shortly before the window expires (which would
     * lose the level the citizen gave): then the level is sent with `reason_timed_out`.
     */
    function armReasonTimer(): void {
      clearReasonTimers();
      const { draft, session } = get();
      if (!citizenMayAct()) return;
      const now = Date.now();
      const expires = session?.expires_at ? Date.parse(session.expires_at) : Number.NaN;
      const inReasons = draft.step === 'reason';
      let end = inReasons ? lastTouch + reasonIdleMs : Number.POSITIVE_INFINITY;
      if (Number.isFinite(expires)) end = Math.min(end, inReasons ? expires - reasonMarginMs : expires);
      if (!Number.isFinite(end)) {
        if (draft.expiring) set({ draft: { ...draft, expiring: false } });
        return;
      }
      const left = Math.max(0, end - now);
      const mine = rating;
      const step = draft.step;
      if (left <= reasonWarnMs) {
        if (!draft.expiring) set({ draft: { ...draft, expiring: true } });
      } else {
        if (draft.expiring) set({ draft: { ...draft, expiring: false } });
        reasonTimers.push(
          later(left - reasonWarnMs, () => {
            if (rating === mine && get().draft.step === step && citizenMayAct())
              set({ draft: { ...get().draft, expiring: true } });
          }),
        );
      }
      if (!inReasons) return; // the core closes the window itself
      reasonTimers.push(
        later(left, () => {
          if (rating !== mine || get().draft.step !== 'reason') return;
          const level = get().draft.level;
          if (level === null) return;
          reasonTimers = [];
          void send({ level, reason_timed_out: true, ...anonymous() });
        }),
      );
    }

    function anonymous(): { anonymous?: true } {
      const { draft, session } = get();
      return draft.anonymous && session?.case?.anonymous_allowed ? { anonymous: true } : {};
    }

    function sendActivity(): void {
      lastActivity = Date.now();
      activityPending = false;
      void client.call('rating.activity', {}).then((result) => {
        if (result.ok && get().session?.state === 'rating_open') applySession(result.value);
      });
    }

    /** Sends a rating; resolves once the core answered (or the window changed). */
    async function send(input: CallInput<'rating.submit'>): Promise<void> {
      if (!citizenMayAct()) return;
      // A store that cannot commit: the screen says so and nothing is sent (no rating can be kept).
      if (!storeHealthy(get())) return;
      clearReasonTimers();
      const level = input.level;
      const mine = rating;
      const press = Symbol('press');
      let current: symbol | null = press;
      const stillPressed = () => rating === mine && current === press && get().submit.phase === 'pressed';
      set({ submit: { phase: 'pressed', level, slow: false }, draft: { ...get().draft, expiring: false } });
      later(slowMs, () => {
        if (stillPressed()) set({ submit: { phase: 'pressed', level, slow: true } });
      });
      later(timeoutMs, () => {
        if (stillPressed()) {
          current = null;
          set({ submit: { phase: 'failed', code: 'TIMEOUT' } });
        }
      });
      const result = await client.call(
        'rating.submit',
        chosenByWedge ? { ...input, source: 'wedge' } : input,
      );
      if (rating !== mine) return; // the rating window closed or changed meanwhile
      if (get().submit.phase === 'done') return; // an earlier touch was committed after all
      if (result.ok) {
        // Committed: thank the citizen even after the 10 s notice, since the rating is stored.
        current = null;
        set({ submit: { phase: 'done', receipt: result.value.receipt }, draft: NO_DRAFT });
      } else if (current === press) {
        current = null;
        set({ submit: { phase: 'failed', code: result.error.code } });
        if (result.error.code === 'STORE_UNAVAILABLE') void get().refresh();
        // The citizen may press 提交 again; a reason step keeps its clock running meanwhile.
        armReasonTimer();
      }
    }

    async function staffCall(kind: StaffBusy, run: () => Promise<Result<SessionView>>): Promise<boolean> {
      if (get().staff.busy) return false;
      set({ staff: { busy: kind, error: null } });
      const result = await run();
      if (result.ok) {
        applySession(result.value);
        set({ staff: { busy: null, error: null } });
        return true;
      }
      set({ staff: { busy: null, error: result.error } });
      return false;
    }

    return {
      deviceId: null,
      session: null,
      pad: null,
      sync: null,
      store: null,
      alarms: [],
      reasons: null,
      connection: client.connection(),
      loaded: false,
      submit: NONE,
      draft: NO_DRAFT,
      staff: { busy: null, error: null },

      start() {
        const offs = [
          client.on('session', applySession),
          client.on('pad', applyPad),
          client.on('sync', applySync),
          client.onConnection((connection) => {
            const was = get().connection;
            set({ connection });
            // Anything may have changed while the link was down: reload the whole status.
            if (connection === 'open' && was !== 'open') {
              void get().refresh();
              if (!get().reasons) void get().loadReasons();
            }
          }),
        ];
        set({ connection: client.connection() });
        void get().refresh();
        void get().loadReasons();
        const poll = statusPollMs > 0 ? setInterval(() => void get().refresh(), statusPollMs) : null;
        return () => {
          for (const off of offs) off();
          if (poll) clearInterval(poll);
          for (const t of timers) clearTimeout(t);
          timers.clear();
          reasonTimers = [];
        };
      },

      async refresh() {
        const before = { ...seen };
        const result = await client.call('status.get', {});
        if (!result.ok) return;
        const { device_id, session, pad, sync, store, alarms } = result.value;
        // An event that arrived while the request was in flight is newer than this snapshot.
        if (seen.session === before.session) applySession(session);
        if (seen.pad === before.pad) applyPad(pad);
        if (seen.sync === before.sync) applySync(sync);
        set({ deviceId: device_id, store, alarms, loaded: true });
      },

      async loadReasons() {
        const result = await client.call('reasons.get', {});
        if (result.ok) set({ reasons: result.value });
      },

      chooseLevel(level) {
        if (!citizenMayAct()) return;
        chosenByWedge = false;
        lastTouch = Date.now();
        const { draft } = get();
        if (isBadRating(level)) {
          set({ draft: { ...draft, level, step: 'reason', reasons: [], expiring: false }, submit: NONE });
          if (!get().reasons) void get().loadReasons();
          armReasonTimer();
        } else {
          set({ draft: { ...draft, level, step: 'level', reasons: [], expiring: false }, submit: NONE });
          armReasonTimer();
        }
      },

      toggleReason(code) {
        const { draft, reasons } = get();
        if (!citizenMayAct() || draft.step !== 'reason' || draft.level === null) return;
        const known = reasons?.reasons.some((r) => r.code === code && r.level === draft.level) ?? false;
        if (!known) return;
        const next = draft.reasons.includes(code)
          ? draft.reasons.filter((c) => c !== code)
          : [...draft.reasons, code].slice(0, 10);
        set({ draft: { ...draft, reasons: next } });
      },

      backToLevels() {
        if (!citizenMayAct()) return;
        set({ draft: { ...NO_DRAFT, anonymous: get().draft.anonymous }, submit: NONE });
        armReasonTimer();
      },

      toggleAnonymous() {
        if (!citizenMayAct() || !get().session?.case?.anonymous_allowed) return;
        const { draft } = get();
        set({ draft: { ...draft, anonymous: !draft.anonymous } });
      },

      async submitDraft() {
        const { draft } = get();
        if (draft.level === null) return;
        if (isBadRating(draft.level)) {
          if (draft.step !== 'reason' || draft.reasons.length === 0) return; // at least one reason
          await send({ level: draft.level, reasons: [...draft.reasons], ...anonymous() });
        } else {
          await send({ level: draft.level, ...anonymous() });
        }
      },

      async wedgePress(level) {
        const { draft, submit } = get();
        // Only from the five levels, and the first press of a window counts while it is pending.
        if (!citizenMayAct() || draft.step !== 'level' || submit.phase === 'pressed') return;
        get().chooseLevel(level);
        chosenByWedge = true;
        if (!isBadRating(level)) await send({ level, ...anonymous() });
      },

      touch() {
        if (get().session?.state !== 'rating_open') return;
        lastTouch = Date.now();
        if (get().draft.step === 'reason') armReasonTimer();
        const wait = lastActivity + activityMs - Date.now();
        if (wait <= 0) {
          sendActivity();
        } else if (!activityPending) {
          activityPending = true;
          const mine = rating;
          later(wait, () => {
            if (activityPending && rating === mine && get().session?.state === 'rating_open') sendActivity();
          });
        }
      },

      openRating(caseRef) {
        const trimmed = caseRef.trim();
        return staffCall('open', () =>
          client.call('rating.open', { case_ref: trimmed === '' ? null : trimmed }),
        );
      },

      cancelRating() {
        return staffCall('cancel', () => client.call('rating.cancel', {}));
      },

      signIn(staffNo, pin) {
        // The PIN goes straight to the call: it is never kept in the store.
        return staffCall('sign_in', () => client.call('staff.sign_in', { staff_no: staffNo.trim(), pin }));
      },

      signOut() {
        return staffCall('sign_out', () => client.call('staff.sign_out', {}));
      },

      pause(reason) {
        return staffCall('pause', () => client.call('staff.pause', { reason }));
      },

      resume() {
        return staffCall('resume', () => client.call('staff.resume', {}));
      },

      clearStaffError() {
        set({ staff: { ...get().staff, error: null } });
      },

      trustStatus() {
        return client.call('device.trust_status', {});
      },

      enroll(token, hubUrl) {
        return client.call('device.enroll', hubUrl ? { token, hub_url: hubUrl } : { token });
      },
    };
  });
}
