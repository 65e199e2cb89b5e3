import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient } from '../../src-renderer/client/client.ts';
import { createMemoryTransport } from '../../src-renderer/client/memory-transport.ts';
import { createAppStore } from '../../src-renderer/state/store.ts';
import { citizenProblem, citizenView, staffSessionWord } from '../../src-renderer/state/views.ts';
import type { CounterStatus, SessionView } from '../../src-shared/calls.ts';
import { LEVELS, type Level } from '../../src-shared/levels.ts';
import type { Result } from '../../src-shared/result.ts';
import { REASONS } from './fake-bridge.ts';

const staff = { staff_no: '0931027', name: '李娟', window_id: '12', hall_id: 'h1', photo_url: null };
const idle: SessionView = {
  state: 'idle',
  staff,
  case_ref: null,
  opened_at: null,
  expires_at: null,
  receipt: null,
  pause_reason: null,
  case: null,
};
const open = (at = '2025-06-01T08:00:00.000Z'): SessionView => ({
  ...idle,
  state: 'rating_open',
  opened_at: at,
  case: { item_name: null, anonymous_allowed: false },
});
const thanks = (receipt = 'RCPT-1'): SessionView => ({ ...open(), state: 'thanks', receipt });

function status(session: SessionView): CounterStatus {
  return {
    device_id: 'ctr-1',
    session,
    open_case: null,
    pad: {
      link: 'up',
      path: '/dev/ttyUSB0',
      model: 'EVP1',
      boot_id: 1,
      frames: 0,
      bad_crc: 0,
      resyncs: 0,
      dropped_bytes: 0,
      serial: null,
      retransmits: 0,
      reconnects: 0,
      alarm: null,
    },
    sync: { queue_depth: 0, last_acked_seq: 0, oldest_unsent_age_s: null, hub: 'ok', last_error: null },
    store: { health: 'ok', message: null, integrity: 'ok', damaged_copy: null, schema_version: 3 },
    alarms: [],
  };
}

type Store = ReturnType<typeof createAppStore>;
/** The citizen's taps for a level: level, (a reason for a 差评), 提交. */
function rate(store: Store, level: Level): Promise<void> {
  const s = store.getState();
  s.chooseLevel(level);
  const reason = REASONS.reasons.find((r) => r.level === level);
  if (level <= 2 && reason) store.getState().toggleReason(reason.code);
  return store.getState().submitDraft();
}

/** A host whose answers the test controls; `submit` may be deferred to play with time. */
function setup(initial: SessionView = open()) {
  let current = initial;
  let submitReply: (() => Promise<Result<unknown>>) | null = null;
  const calls: string[] = [];
  const transport = createMemoryTransport(async (call, args) => {
    calls.push(call);
    switch (call) {
      case 'status.get':
        return { ok: true, value: status(current) };
      case 'rating.open':
        current = {
          ...open('2025-06-01T09:00:00.000Z'),
          case_ref: (args as { case_ref: string | null }).case_ref,
        };
        return { ok: true, value: current };
      case 'rating.cancel':
        current = idle;
        return { ok: true, value: current };
      case 'reasons.get':
        return { ok: true, value: REASONS };
      case 'rating.submit':
        return submitReply ? submitReply() : { ok: true, value: { receipt: 'RCPT-1' } };
      default:
        return { ok: false, error: { code: 'UNKNOWN_CALL', message: call } };
    }
  });
  const store = createAppStore(createClient(transport), { slowMs: 1000, timeoutMs: 10_000, statusPollMs: 0 });
  return {
    store,
    transport,
    calls,
    setSession(s: SessionView) {
      current = s;
      transport.emit('session', s);
    },
    deferSubmit() {
      let resolve!: (r: Result<unknown>) => void;
      const promise = new Promise<Result<unknown>>((r) => {
        resolve = r;
      });
      submitReply = () => promise;
      return resolve;
    },
  };
}

const flush = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('store: loading and events', () => {
  it('loads the status on start and follows session, pad and sync events', async () => {
    const t = setup(idle);
    const stop = t.store.getState().start();
    await flush();
    expect(t.store.getState()).toMatchObject({ loaded: true, deviceId: 'ctr-1', session: idle });
    t.transport.emit('pad', { ...status(idle).pad, link: 'down' });
    t.transport.emit('sync', { ...status(idle).sync, queue_depth: 7, hub: 'unreachable' });
    t.setSession(open());
    const s = t.store.getState();
    expect(s.pad?.link).toBe('down');
    expect(s.sync?.queue_depth).toBe(7);
    expect(s.session?.state).toBe('rating_open');
    expect(citizenProblem(s)).toBe('pad');
    stop();
    t.setSession(idle);
    expect(t.store.getState().session?.state).toBe('rating_open'); // stopped: no longer listening
  });

  it('ignores an invalid event instead of taking it', async () => {
    const t = setup(idle);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    t.store.getState().start();
    await flush();
    t.transport.emit('session', { ...idle, state: 'broken' });
    expect(t.store.getState().session).toEqual(idle);
    warn.mockRestore();
  });

  it('reloads the status when the link comes back, and shows the lost link meanwhile', async () => {
    const t = setup(idle);
    t.store.getState().start();
    await flush();
    t.transport.setConnection('reconnecting');
    expect(citizenProblem(t.store.getState())).toBe('link');
    const before = t.calls.filter((c) => c === 'status.get').length;
    t.transport.setConnection('open');
    await flush();
    expect(t.calls.filter((c) => c === 'status.get').length).toBe(before + 1);
    expect(citizenProblem(t.store.getState())).toBeNull();
  });
});

describe('store: the citizen touch (level, 提交)', () => {
  it('pressed at once, 正在提交… after 1 s, thanks with the receipt only once the call is ok', async () => {
    const t = setup();
    t.store.getState().start();
    await flush();
    const resolve = t.deferSubmit();
    void rate(t.store, 2);
    expect(citizenView(t.store.getState())).toMatchObject({
      screen: 'reason',
      level: 2,
      pressed: true,
      notice: 'none',
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(citizenView(t.store.getState())).toMatchObject({ notice: 'none' });
    await vi.advanceTimersByTimeAsync(1);
    expect(citizenView(t.store.getState())).toMatchObject({ screen: 'reason', notice: 'submitting' });
    resolve({ ok: true, value: { receipt: 'RCPT-9' } });
    await flush();
    expect(citizenView(t.store.getState())).toEqual({ screen: 'thanks', staff, receipt: 'RCPT-9' });
  });

  it('an error reply shows the failure and lets the citizen press again', async () => {
    const t = setup();
    t.store.getState().start();
    await flush();
    t.deferSubmit()({ ok: false, error: { code: 'STORE_UNAVAILABLE', message: 'disk full' } });
    await rate(t.store, 5);
    expect(citizenView(t.store.getState())).toMatchObject({
      screen: 'rating',
      selected: 5,
      pressed: false,
      notice: 'failed',
    });
    t.deferSubmit()({ ok: true, value: { receipt: 'RCPT-2' } });
    await rate(t.store, 5);
    expect(citizenView(t.store.getState())).toMatchObject({ screen: 'thanks', receipt: 'RCPT-2' });
  });

  it('10 s without an answer is a failure, never a thank-you', async () => {
    const t = setup();
    t.store.getState().start();
    await flush();
    t.deferSubmit();
    void rate(t.store, 1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(citizenView(t.store.getState())).toMatchObject({ screen: 'reason', notice: 'failed' });
  });

  it('a commit that answers after the 10 s notice still thanks (the rating is stored)', async () => {
    const t = setup();
    t.store.getState().start();
    await flush();
    const late = t.deferSubmit();
    void rate(t.store, 3);
    await vi.advanceTimersByTimeAsync(10_000);
    late({ ok: true, value: { receipt: 'LATE-1' } });
    await flush();
    expect(citizenView(t.store.getState())).toMatchObject({ screen: 'thanks', receipt: 'LATE-1' });
  });

  it('a second touch while the first is pending is ignored', async () => {
    const t = setup();
    t.store.getState().start();
    await flush();
    const resolve = t.deferSubmit();
    void rate(t.store, 4);
    void rate(t.store, 1);
    expect(t.calls.filter((c) => c === 'rating.submit')).toHaveLength(1);
    resolve({ ok: true, value: { receipt: 'R' } });
    await flush();
  });

  it('does nothing unless a rating is open', async () => {
    const t = setup(idle);
    t.store.getState().start();
    await flush();
    await rate(t.store, 5);
    expect(t.calls).not.toContain('rating.submit');
    expect(citizenView(t.store.getState()).screen).toBe('idle');
  });

  it('a pad press arrives as session thanks: same thank-you; back to idle with the session', async () => {
    const t = setup();
    t.store.getState().start();
    await flush();
    t.setSession(thanks('PAD-7'));
    expect(citizenView(t.store.getState())).toEqual({ screen: 'thanks', staff, receipt: 'PAD-7' });
    t.setSession(idle);
    expect(citizenView(t.store.getState())).toEqual({ screen: 'idle', staff });
  });

  it('a reply for a rating window that has since closed is ignored', async () => {
    const t = setup();
    t.store.getState().start();
    await flush();
    const resolve = t.deferSubmit();
    void rate(t.store, 2);
    t.setSession(idle); // staff cancelled meanwhile
    resolve({ ok: true, value: { receipt: 'OLD' } });
    await flush();
    expect(citizenView(t.store.getState()).screen).toBe('idle');
    t.setSession(open('2025-06-01T10:00:00.000Z'));
    expect(citizenView(t.store.getState())).toMatchObject({
      screen: 'rating',
      selected: null,
      pressed: false,
      notice: 'none',
    });
  });

  it('the thank-you view is identical whatever level was given', async () => {
    const views: unknown[] = [];
    for (const level of LEVELS) {
      const t = setup();
      t.store.getState().start();
      await flush();
      await rate(t.store, level as Level);
      views.push(citizenView(t.store.getState()));
    }
    expect(new Set(views.map((v) => JSON.stringify(v))).size).toBe(1);
  });
});

describe('store: staff actions', () => {
  it('opens with a trimmed case number (or none) and cancels; the staff word never carries a level', async () => {
    const t = setup(idle);
    t.store.getState().start();
    await flush();
    expect(staffSessionWord(t.store.getState())).toBe('idle');
    expect(await t.store.getState().openRating('  XJ-2025-1 ')).toBe(true);
    expect(t.store.getState().session).toMatchObject({ state: 'rating_open', case_ref: 'XJ-2025-1' });
    expect(staffSessionWord(t.store.getState())).toBe('waiting');
    expect(await t.store.getState().cancelRating()).toBe(true);
    expect(staffSessionWord(t.store.getState())).toBe('idle');
    await t.store.getState().openRating('   ');
    expect(t.store.getState().session?.case_ref).toBeNull();
    t.setSession(thanks());
    expect(staffSessionWord(t.store.getState())).toBe('done');
  });

  it('keeps the error of a failed staff call for the screen, in a code', async () => {
    const t = setup(idle);
    t.store.getState().start();
    await flush();
    expect(await t.store.getState().openRating('x'.repeat(65))).toBe(false);
    expect(t.store.getState().staff.error?.code).toBe('BAD_REQUEST');
    t.store.getState().clearStaffError();
    expect(t.store.getState().staff.error).toBeNull();
  });
});
