import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient } from '../../src-renderer/client/client.ts';
import { createMemoryTransport } from '../../src-renderer/client/memory-transport.ts';
import { createAppStore, type StoreOptions } from '../../src-renderer/state/store.ts';
import {
  citizenProblem,
  citizenView,
  lockRemainingS,
  reasonsFor,
  signInProblem,
  staffSessionWord,
} from '../../src-renderer/state/views.ts';
import { wedgeAction } from '../../src-renderer/wedge.ts';
import type { SessionView } from '../../src-shared/calls.ts';
import {
  createFakeCounter,
  DEMO_PIN,
  DEMO_STAFF_NO,
  idleSession,
  openSession,
  pausedSession,
  REASONS,
  RECEIPT,
  signedOutSession,
} from './fake-bridge.ts';

/** The store against the fake core over the in-process transport: the screens' logic without a DOM. */
function setup(session: SessionView, options: StoreOptions = {}) {
  const fake = createFakeCounter();
  fake.status.session = session;
  const transport = createMemoryTransport(async (call, args) => {
    fake.calls.push({ call, args });
    const reply = await fake.answer(call, args);
    return reply ?? new Promise(() => {});
  });
  fake.onEmit = (event, payload) => transport.emit(event, payload);
  const store = createAppStore(createClient(transport), { statusPollMs: 0, ...options });
  const callsOf = (name: string) => fake.calls.filter((c) => c.call === name).map((c) => c.args);
  return { fake, store, transport, callsOf, s: () => store.getState() };
}

const flush = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('staff: sign-in, pause, resume, sign-out', () => {
  it('signs in with staff number and PIN; a wrong PIN is BAD_CREDENTIALS without saying which part', async () => {
    const t = setup(signedOutSession());
    t.s().start();
    await flush();
    expect(staffSessionWord(t.s())).toBe('signed_out');
    expect(citizenView(t.s())).toEqual({ screen: 'signed_out' });

    expect(await t.s().signIn(DEMO_STAFF_NO, '000000')).toBe(false);
    expect(signInProblem(t.s().staff.error)).toEqual({ kind: 'bad_credentials' });
    expect(await t.s().signIn('999999', DEMO_PIN)).toBe(false);
    expect(signInProblem(t.s().staff.error)).toEqual({ kind: 'bad_credentials' });
    // The PIN is never kept in the store.
    expect(JSON.stringify({ ...t.s(), session: null })).not.toContain(DEMO_PIN);

    expect(await t.s().signIn(` ${DEMO_STAFF_NO} `, DEMO_PIN)).toBe(true);
    expect(t.callsOf('staff.sign_in').at(-1)).toEqual({ staff_no: DEMO_STAFF_NO, pin: DEMO_PIN });
    expect(t.s().staff.error).toBeNull();
    expect(staffSessionWord(t.s())).toBe('idle');
    expect(t.s().session?.staff?.name).toBe('李明');
    expect(citizenView(t.s())).toMatchObject({ screen: 'idle', staff: { staff_no: DEMO_STAFF_NO } });
  });

  it('LOCKED after too many wrong PINs, with the time left read from the message', async () => {
    const t = setup(signedOutSession());
    t.fake.maxAttempts = 2;
    t.fake.lockS = 300;
    t.s().start();
    await flush();
    await t.s().signIn(DEMO_STAFF_NO, '1111');
    await t.s().signIn(DEMO_STAFF_NO, '2222');
    expect(signInProblem(t.s().staff.error)).toEqual({ kind: 'locked', lockedS: 300 });
    // Even the right PIN is refused while locked.
    expect(await t.s().signIn(DEMO_STAFF_NO, DEMO_PIN)).toBe(false);
    expect(signInProblem(t.s().staff.error)).toMatchObject({ kind: 'locked' });
    expect(lockRemainingS('密码错误次数过多，请 240 秒后再试 (locked for 240 s)')).toBe(240);
    expect(lockRemainingS('retry_after_s=90')).toBe(90);
    expect(lockRemainingS('locked until 2026-01-01T00:05:00Z', Date.parse('2026-01-01T00:00:00Z'))).toBe(300);
    expect(lockRemainingS('locked')).toBeNull();
  });

  it('pauses with a reason, shows 暂停服务 to the citizen in words, resumes, signs out', async () => {
    const t = setup(idleSession());
    t.s().start();
    await flush();
    expect(await t.s().pause('meeting')).toBe(true);
    expect(t.callsOf('staff.pause')).toEqual([{ reason: 'meeting' }]);
    expect(staffSessionWord(t.s())).toBe('paused');
    expect(citizenView(t.s())).toMatchObject({ screen: 'paused', reason: 'meeting' });
    // A paused window opens no rating.
    expect(await t.s().openRating('')).toBe(false);
    expect(t.s().staff.error?.code).toBe('PAUSED');
    expect(await t.s().resume()).toBe(true);
    expect(citizenView(t.s())).toMatchObject({ screen: 'idle' });
    expect(await t.s().signOut()).toBe(true);
    expect(staffSessionWord(t.s())).toBe('signed_out');
    expect(citizenView(t.s())).toEqual({ screen: 'signed_out' });
  });

  it('follows a pause made elsewhere (the session event)', async () => {
    const t = setup(idleSession());
    t.s().start();
    await flush();
    t.fake.setSession(pausedSession('business'));
    expect(citizenView(t.s())).toMatchObject({ screen: 'paused', reason: 'business' });
  });
});

describe('citizen: level, 提交; 差评: level, reason, 提交', () => {
  it('a non-差评 level is selected by a tap and sent only on 提交, and can be changed until then', async () => {
    const t = setup(openSession());
    t.s().start();
    await flush();
    t.s().chooseLevel(5);
    expect(citizenView(t.s())).toMatchObject({ screen: 'rating', selected: 5, pressed: false });
    t.s().chooseLevel(4);
    expect(citizenView(t.s())).toMatchObject({ screen: 'rating', selected: 4 });
    expect(t.callsOf('rating.submit')).toEqual([]);
    await t.s().submitDraft();
    expect(t.callsOf('rating.submit')).toEqual([{ level: 4 }]);
    expect(citizenView(t.s())).toMatchObject({ screen: 'thanks', receipt: RECEIPT });
  });

  it('a 差评 opens the reason step with that level’s reasons; at least one is required', async () => {
    const t = setup(openSession());
    t.s().start();
    await flush();
    t.s().chooseLevel(2);
    const view = citizenView(t.s());
    expect(view).toMatchObject({ screen: 'reason', level: 2, chosen: [] });
    if (view.screen !== 'reason') throw new Error('not the reason step');
    expect(view.reasons?.map((r) => r.code)).toEqual(['201', '202', '203']);
    await t.s().submitDraft(); // nothing chosen: refused here, never sent
    expect(t.callsOf('rating.submit')).toEqual([]);
    t.s().toggleReason('101'); // a code of the other level is not taken
    t.s().toggleReason('202');
    t.s().toggleReason('201');
    t.s().toggleReason('201');
    expect(citizenView(t.s())).toMatchObject({ screen: 'reason', chosen: ['202'] });
    await t.s().submitDraft();
    expect(t.callsOf('rating.submit')).toEqual([{ level: 2, reasons: ['202'] }]);
    expect(citizenView(t.s()).screen).toBe('thanks');
  });

  it('返回重选 goes back to the five levels with nothing selected', async () => {
    const t = setup(openSession());
    t.s().start();
    await flush();
    t.s().chooseLevel(1);
    t.s().toggleReason('101');
    t.s().backToLevels();
    expect(citizenView(t.s())).toMatchObject({ screen: 'rating', selected: null });
    t.s().chooseLevel(3);
    await t.s().submitDraft();
    expect(t.callsOf('rating.submit')).toEqual([{ level: 3 }]);
  });

  it('the reason step times out after 60 s untouched: the level is sent with reason_timed_out', async () => {
    const t = setup(openSession());
    t.s().start();
    await flush();
    t.s().chooseLevel(1);
    await vi.advanceTimersByTimeAsync(39_000);
    expect(citizenView(t.s())).toMatchObject({ screen: 'reason', expiring: false });
    await vi.advanceTimersByTimeAsync(1000);
    expect(citizenView(t.s())).toMatchObject({ screen: 'reason', expiring: true }); // warning 20 s before
    t.s().touch(); // one touch extends
    expect(citizenView(t.s())).toMatchObject({ expiring: false });
    await vi.advanceTimersByTimeAsync(59_000);
    expect(t.callsOf('rating.submit')).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(t.callsOf('rating.submit')).toEqual([{ level: 1, reason_timed_out: true }]);
    expect(citizenView(t.s()).screen).toBe('thanks');
  });

  it('the reason step ends before the rating window expires, so the level is not lost', async () => {
    const expiresAt = new Date(Date.now() + 30_000).toISOString();
    const t = setup(openSession(null, { expiresAt }));
    t.s().start();
    await flush();
    t.s().chooseLevel(2);
    await vi.advanceTimersByTimeAsync(26_999);
    expect(t.callsOf('rating.submit')).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(t.callsOf('rating.submit')).toEqual([{ level: 2, reason_timed_out: true }]);
  });

  it('rating.activity on touches while rating, at most once per 5 s (the last touch still counts)', async () => {
    const t = setup(idleSession());
    t.s().start();
    await flush();
    t.s().touch();
    expect(t.callsOf('rating.activity')).toHaveLength(0); // not rating: nothing to extend
    t.fake.setSession(openSession(null, { expiresAt: new Date(Date.now() + 60_000).toISOString() }));
    t.s().touch();
    t.s().touch();
    t.s().touch();
    await flush();
    expect(t.callsOf('rating.activity')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(5000);
    expect(t.callsOf('rating.activity')).toHaveLength(2); // the trailing touch
    await vi.advanceTimersByTimeAsync(20_000);
    expect(t.callsOf('rating.activity')).toHaveLength(2);
    t.s().touch();
    await flush();
    expect(t.callsOf('rating.activity')).toHaveLength(3);
  });
});

describe('citizen: 匿名评价', () => {
  it('is offered only when the case allows it, and sent only when toggled on', async () => {
    const t = setup(openSession());
    t.s().start();
    await flush();
    t.s().chooseLevel(5);
    expect(citizenView(t.s())).toMatchObject({ anonymousOffered: false, anonymous: false });
    t.s().toggleAnonymous(); // not offered: no effect
    expect(citizenView(t.s())).toMatchObject({ anonymous: false });

    const u = setup(openSession(null, { anonymousAllowed: true }));
    u.s().start();
    await flush();
    u.s().chooseLevel(1);
    expect(citizenView(u.s())).toMatchObject({ screen: 'reason', anonymousOffered: true, anonymous: false });
    u.s().toggleAnonymous();
    u.s().toggleReason('102');
    expect(citizenView(u.s())).toMatchObject({ anonymous: true });
    await u.s().submitDraft();
    expect(u.callsOf('rating.submit')).toEqual([{ level: 1, reasons: ['102'], anonymous: true }]);
  });
});

describe('citizen: keyboard-wedge pad', () => {
  /** What the citizen screen does with a keydown (CitizenScreen's listener, without the DOM). */
  async function press(t: ReturnType<typeof setup>, key: string) {
    const action = wedgeAction(
      { key, repeat: false, altKey: false, ctrlKey: false, metaKey: false, shiftKey: false },
      t.s().session?.state === 'rating_open',
    );
    if (action.kind === 'rate') await t.s().wedgePress(action.level);
    return action.kind;
  }

  it('F1..F5 rate only while rating_open; a non-差评 is the rating at once, a 差评 goes to reasons', async () => {
    const t = setup(idleSession());
    t.s().start();
    await flush();
    expect(await press(t, 'F1')).toBe('swallow');
    t.fake.setSession(pausedSession());
    expect(await press(t, 'F2')).toBe('swallow');
    expect(t.callsOf('rating.submit')).toEqual([]);

    t.fake.setSession(openSession());
    expect(await press(t, 'F2')).toBe('rate');
    expect(t.callsOf('rating.submit')).toEqual([{ level: 4, source: 'wedge' }]);
    expect(citizenView(t.s()).screen).toBe('thanks');
    expect(await press(t, 'F3')).toBe('swallow'); // thanks: no longer rating_open
    expect(t.callsOf('rating.submit')).toHaveLength(1);

    t.fake.setSession(openSession());
    expect(await press(t, 'F5')).toBe('rate');
    expect(citizenView(t.s())).toMatchObject({ screen: 'reason', level: 1 });
    expect(t.callsOf('rating.submit')).toHaveLength(1);
    await press(t, 'F1'); // in the reason step the keys do not change the level
    expect(citizenView(t.s())).toMatchObject({ screen: 'reason', level: 1 });
  });

  it('a second wedge press while the first is pending is not a second rating', async () => {
    const t = setup(openSession());
    t.fake.submit = { kind: 'ok', delayMs: 500 };
    t.s().start();
    await flush();
    void press(t, 'F1');
    void press(t, 'F3');
    await vi.advanceTimersByTimeAsync(600);
    expect(t.callsOf('rating.submit')).toEqual([{ level: 5, source: 'wedge' }]);
  });

  it('a touch after a wedge key makes the rating a screen rating again', async () => {
    const t = setup(openSession());
    t.s().start();
    await flush();
    expect(await press(t, 'F5')).toBe('rate'); // 差评: reason step
    t.s().backToLevels();
    t.s().chooseLevel(4);
    await t.s().submitDraft();
    expect(t.callsOf('rating.submit')).toEqual([{ level: 4 }]);
  });
});

describe('store health', () => {
  it('an unhealthy store refuses to submit and says so in neutral words', async () => {
    const t = setup(openSession());
    t.fake.status.store = { ...t.fake.status.store, health: 'disk_full', message: '磁盘剩余 0 MB' };
    t.s().start();
    await flush();
    expect(citizenView(t.s())).toEqual({ screen: 'unavailable', staff: expect.anything() });
    expect(citizenProblem(t.s())).toBe('store');
    t.s().chooseLevel(5);
    await t.s().submitDraft();
    await t.s().wedgePress(4);
    expect(t.callsOf('rating.submit')).toEqual([]);
  });

  it('is reloaded with the status every few seconds, since no event carries it', async () => {
    const t = setup(idleSession(), { statusPollMs: 10_000 });
    const stop = t.s().start();
    await flush();
    expect(t.s().store?.health).toBe('ok');
    t.fake.status.store = { ...t.fake.status.store, health: 'read_only', message: 'EROFS' };
    await vi.advanceTimersByTimeAsync(10_000);
    expect(t.s().store?.health).toBe('read_only');
    t.fake.status.store = { ...t.fake.status.store, health: 'ok', message: null };
    await vi.advanceTimersByTimeAsync(10_000);
    expect(citizenProblem(t.s())).toBeNull();
    stop();
  });
});

describe('reason texts', () => {
  it('use the screen’s language where the dictionary has it, else Chinese marked as such', () => {
    expect(reasonsFor(REASONS, 2, 'ug')?.map((r) => r.lang)).toEqual(['zh-CN', 'ug', 'zh-CN']);
    expect(reasonsFor(REASONS, 1, 'zh-CN')).toEqual([
      { code: '101', text: '推诿扯皮', lang: 'zh-CN' },
      { code: '102', text: '态度恶劣', lang: 'zh-CN' },
    ]);
    expect(reasonsFor(null, 1, 'zh-CN')).toBeNull();
  });
});

describe('citizen: the rating window’s idle limit', () => {
  it('warns 20 s before the window closes; a touch (rating.activity) extends it', async () => {
    const t = setup(openSession(null, { expiresAt: new Date(Date.now() + 60_000).toISOString() }));
    t.s().start();
    await flush();
    await vi.advanceTimersByTimeAsync(39_000);
    expect(citizenView(t.s())).toMatchObject({ screen: 'rating', expiring: false });
    await vi.advanceTimersByTimeAsync(1000);
    expect(citizenView(t.s())).toMatchObject({ screen: 'rating', expiring: true });
    t.s().touch();
    await flush();
    expect(t.callsOf('rating.activity')).toHaveLength(1);
    expect(citizenView(t.s())).toMatchObject({ screen: 'rating', expiring: false });
    // Selecting a level keeps the clock; nothing is ever sent without 提交 (the core records 未评价).
    t.s().chooseLevel(5);
    await vi.advanceTimersByTimeAsync(40_000);
    expect(citizenView(t.s())).toMatchObject({ screen: 'rating', selected: 5, expiring: true });
    expect(t.callsOf('rating.submit')).toEqual([]);
  });
});
