import { createStore, type StoreApi } from 'zustand/vanilla';
import type { PadView, SessionView, SyncView } from '../../src-shared/calls.ts';
import type { Level } from '../../src-shared/levels.ts';
import type { Err, Result } from '../../src-shared/result.ts';
import type { Client } from '../client/client.ts';
import type { ConnectionState } from '../client/transport.ts';

/**
 * The citizen's own touch on the screen, from press to commit. Only the citizen screen reads it,
 * and `level` lives only while the press is pending (for the pressed state): the thank-you never
 * depends on it (ui-guidelines §2, threat T2).
 */
export type SubmitState =
  | { phase: 'none' }
  | { phase: 'pressed'; level: Level; slow: boolean }
  | { phase: 'failed'; code: Err['error']['code'] | 'TIMEOUT' }
  | { phase: 'done'; receipt: string };

export type StaffAction = { busy: 'open' | 'cancel' | null; error: Err['error'] | null };

export interface DeviceSlice {
  deviceId: string | null;
  session: SessionView | null;
  pad: PadView | null;
  sync: SyncView | null;
  connection: ConnectionState;
  /** True once status.get has answered: until then the screens show a neutral waiting state. */
  loaded: boolean;
}

export interface Actions {
  /** Subscribe to the client's events and load the status; returns the stop function. */
  start(): () => void;
  refresh(): Promise<void>;
  /** Skeleton pad flow: a touch on a level is the rating (the two-tap select-then-提交 flow is a later issue). */
  submitRating(level: Level): Promise<void>;
  openRating(caseRef: string): Promise<boolean>;
  cancelRating(): Promise<boolean>;
  clearStaffError(): void;
}

export type AppState = DeviceSlice & { submit: SubmitState; staff: StaffAction } & Actions;
export type AppStore = StoreApi<AppState>;

export interface StoreOptions {
  /** After this long without an answer the citizen sees 正在提交… (ui-guidelines §1: 1 s). */
  slowMs?: number;
  /** After this long without an answer the press counts as failed (ui-guidelines §1: 10 s). */
  timeoutMs?: number;
}

const NONE: SubmitState = { phase: 'none' };

/** A new rating window (or none) starts: whatever the citizen's last touch was, it no longer applies. */
function startsNewRating(prev: SessionView | null, next: SessionView): boolean {
  if (next.state === 'idle') return true;
  if (next.state === 'rating_open') return prev?.state !== 'rating_open' || prev.opened_at !== next.opened_at;
  return false;
}

export function createAppStore(client: Client, options: StoreOptions = {}): AppStore {
  const slowMs = options.slowMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  /** Bumped whenever the citizen's touch stops applying; late replies from an older touch are ignored. */
  let rating = 0;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const seen = { session: 0, pad: 0, sync: 0 };

  function later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  }

  return createStore<AppState>()((set, get) => {
    function applySession(next: SessionView): void {
      seen.session += 1;
      const prev = get().session;
      if (startsNewRating(prev, next)) {
        rating += 1;
        set({ session: next, submit: NONE });
      } else {
        set({ session: next });
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

    async function staffCall(
      kind: 'open' | 'cancel',
      run: () => Promise<Result<SessionView>>,
    ): Promise<boolean> {
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
      connection: client.connection(),
      loaded: false,
      submit: NONE,
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
            if (connection === 'open' && was !== 'open') void get().refresh();
          }),
        ];
        set({ connection: client.connection() });
        void get().refresh();
        return () => {
          for (const off of offs) off();
          for (const t of timers) clearTimeout(t);
          timers.clear();
        };
      },

      async refresh() {
        const before = { ...seen };
        const result = await client.call('status.get', {});
        if (!result.ok) return;
        const { device_id, session, pad, sync } = result.value;
        // An event that arrived while the request was in flight is newer than this snapshot.
        if (seen.session === before.session) applySession(session);
        if (seen.pad === before.pad) applyPad(pad);
        if (seen.sync === before.sync) applySync(sync);
        set({ deviceId: device_id, loaded: true });
      },

      async submitRating(level) {
        const { session, submit } = get();
        if (session?.state !== 'rating_open') return;
        if (submit.phase === 'pressed' || submit.phase === 'done') return; // one touch at a time
        const mine = rating;
        const press = Symbol('press');
        let current: symbol | null = press;
        const stillPressed = () => rating === mine && current === press && get().submit.phase === 'pressed';
        set({ submit: { phase: 'pressed', level, slow: false } });
        later(slowMs, () => {
          if (stillPressed()) set({ submit: { phase: 'pressed', level, slow: true } });
        });
        later(timeoutMs, () => {
          if (stillPressed()) {
            current = null;
            set({ submit: { phase: 'failed', code: 'TIMEOUT' } });
          }
        });
        const result = await client.call('rating.submit', { level });
        if (rating !== mine) return; // the rating window closed or changed meanwhile
        if (get().submit.phase === 'done') return; // an earlier touch was committed after all
        if (result.ok) {
          // Committed: thank the citizen even after the 10 s notice, since the rating is stored.
          current = null;
          set({ submit: { phase: 'done', receipt: result.value.receipt } });
        } else if (current === press) {
          current = null;
          set({ submit: { phase: 'failed', code: result.error.code } });
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

      clearStaffError() {
        set({ staff: { ...get().staff, error: null } });
      },
    };
  });
}
