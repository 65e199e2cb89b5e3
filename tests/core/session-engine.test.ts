import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hash } from '@node-rs/argon2';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type CounterConfig, defaultCounterConfig } from '../../src-main/core/config.ts';
import { Counter } from '../../src-main/core/counter.ts';
import { isOpenAt, openingHoursSchema } from '../../src-main/core/opening-hours.ts';
import type { CaseInfo } from '../../src-main/core/session.ts';
import type { RatingRecord } from '../../src-shared/index.ts';

const offline: typeof fetch = async () => {
  throw new Error('offline');
};
// Thursday 2026-11-26, 11:00 Beijing time (open); 2026-10-01 is National Day (closed).
const OPEN_TIME = new Date('2026-11-26T03:00:00Z');

let dir: string;
let config: CounterConfig;
beforeAll(async () => {
  config = {
    ...defaultCounterConfig(),
    roster: [
      { staff_no: 'S1', name: '王芳', photo_url: null, pin_hash: await hash('135790') },
      { staff_no: 'S2', name: '艾力', photo_url: null, pin_hash: await hash('246802') },
    ],
    auto_sign_in: null,
  };
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-engine-'));
  vi.useFakeTimers({
    now: OPEN_TIME,
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
  });
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

function make(over: Partial<CounterConfig> = {}) {
  return new Counter({
    dataDir: dir,
    hubUrl: 'http://127.0.0.1:9',
    config: { ...config, ...over },
    fetchImpl: offline,
  });
}

const aCase: CaseInfo = {
  case_ref: 'BJ-2026-0001',
  item_code: 'ITEM-01',
  item_name: '营业执照变更',
  case_status: '办结',
  accepted_at: '2026-11-26T02:00:00.000Z',
  finished_at: '2026-11-26T02:55:00.000Z',
  dept_id: 'D-SCJ',
  rater_type: 'company',
  anonymous_allowed: true,
  rater: { name: '张三', phone: '13900000000' },
};

function last(c: Counter): RatingRecord {
  return c.store.unsentBatch(1000).at(-1) as RatingRecord;
}

describe('sign-in', () => {
  it('starts signed out without auto sign-in, and a window with nobody signed in takes no rating', async () => {
    const c = make();
    expect(c.session.view()).toMatchObject({ state: 'signed_out', staff: null });
    expect(() => c.openRating(null)).toThrow(/无人签到/);
    expect(c.handlePadPress({ bootId: 1, pressId: 1, key: 1, uptimeMs: 1 })).toBe(1);
    const press = c.store.db.prepare('SELECT reason FROM pad_presses').get() as { reason: string };
    expect(press.reason).toBe('not_staffed');
    await c.close();
  });

  it('signs in with the right PIN, never says which part was wrong, and locks after repeated failures', async () => {
    const c = make({ pin_max_attempts: 3, pin_lock_s: 60 });
    await expect(c.signIn('S1', '000000')).rejects.toMatchObject({ code: 'BAD_CREDENTIALS' });
    await expect(c.signIn('NOPE', '135790')).rejects.toMatchObject({ code: 'BAD_CREDENTIALS' });
    await expect(c.signIn('S1', '000001')).rejects.toMatchObject({ code: 'BAD_CREDENTIALS' });
    // Third failure for S1: locked, even with the right PIN, until the lock runs out.
    await expect(c.signIn('S1', '000002')).rejects.toMatchObject({ code: 'LOCKED' });
    await expect(c.signIn('S1', '135790')).rejects.toMatchObject({ code: 'LOCKED' });
    vi.advanceTimersByTime(61_000);
    const view = await c.signIn('S1', '135790');
    expect(view).toMatchObject({ state: 'idle', staff: { staff_no: 'S1', name: '王芳' } });
    // Someone else cannot sign in over a signed-in colleague.
    await expect(c.signIn('S2', '246802')).rejects.toMatchObject({ code: 'SIGNED_IN' });
    const audit = c.store.db
      .prepare("SELECT details FROM audit_log WHERE action = 'presence.sign_in_failed'")
      .all() as { details: string }[];
    expect(audit).toHaveLength(4); // three for S1 (the third locks), one for the unknown number
    for (const a of audit) expect(a.details).not.toMatch(/13579|00000/);
    await c.close();
  });

  it('restores the signed-in staff after a restart and logs every change gap-free', async () => {
    let c = make();
    await c.signIn('S2', '246802');
    c.pause('meeting');
    await c.close();
    c = make();
    expect(c.session.view()).toMatchObject({
      state: 'paused',
      pause_reason: 'meeting',
      staff: { staff_no: 'S2' },
    });
    c.resume();
    c.signOut();
    expect(c.presence.entries().map((e) => [e.seq, e.event, e.state, e.staff_no])).toEqual([
      [1, 'sign_in', 'idle', 'S2'],
      [2, 'pause', 'paused', 'S2'],
      [3, 'restart', 'paused', 'S2'],
      [4, 'resume', 'idle', 'S2'],
      [5, 'sign_out', 'signed_out', 'S2'],
    ]);
    expect(() => c.store.db.exec('DELETE FROM presence_log')).toThrow(/append-only/);
    await c.close();
  });

  it('logs every restart, and signs out on restart a staff member who left the roster', async () => {
    let c = make();
    await c.signIn('S1', '135790');
    await c.close();
    c = make(); // restart: S1 still signed in
    await c.close();
    c = make({ roster: config.roster.filter((s) => s.staff_no !== 'S1') });
    expect(c.session.view().state).toBe('signed_out');
    expect(c.presence.entries().map((e) => [e.event, e.state, e.staff_no, e.reason])).toEqual([
      ['sign_in', 'idle', 'S1', null],
      ['restart', 'idle', 'S1', null],
      ['sign_out', 'signed_out', 'S1', 'not_in_roster'],
    ]);
    await c.close();
  });

  it('auto sign-in signs the configured roster member in at start', async () => {
    const c = make({ auto_sign_in: 'S1' });
    expect(c.session.view()).toMatchObject({ state: 'idle', staff: { staff_no: 'S1' } });
    expect(c.presence.entries()[0]).toMatchObject({ event: 'auto_sign_in', staff_no: 'S1' });
    await c.close();
  });
});

describe('pause and opening hours', () => {
  it('a paused window opens no rating and its presses are logged as paused', async () => {
    const c = make();
    await c.signIn('S1', '135790');
    c.pause('break');
    expect(c.session.view()).toMatchObject({ state: 'paused', pause_reason: 'break' });
    expect(() => c.openRating('X')).toThrow(/暂停/);
    expect(c.handlePadPress({ bootId: 1, pressId: 1, key: 1, uptimeMs: 1 })).toBe(1);
    c.resume();
    c.openRating(null);
    // Pausing in the middle of a rating is refused: staff close the window first.
    expect(() => c.pause('break')).toThrow(/正在评价/);
    await c.close();
  });

  it('follows the official calendar: closed on a holiday, open on a workday', () => {
    const h = defaultCounterConfig().opening_hours;
    expect(isOpenAt(h, OPEN_TIME)).toBe(true);
    expect(isOpenAt(h, new Date('2026-10-01T03:00:00Z'))).toBe(false);
    expect(isOpenAt(h, new Date('2026-11-26T07:00:00Z'))).toBe(false); // 15:00, lunch break
    expect(isOpenAt(h, new Date('2026-11-28T03:00:00Z'))).toBe(false); // Saturday
  });

  it('a period may end at 24:00: open through the last minute of the day, not only to 23:59', () => {
    const allDay = openingHoursSchema.parse({
      periods: [['00:00', '24:00']],
      rest_day_periods: [['00:00', '24:00']],
    });
    expect(isOpenAt(allDay, new Date('2026-11-26T15:59:30Z'))).toBe(true); // 23:59:30 Beijing
    expect(isOpenAt(allDay, new Date('2026-11-26T16:00:00Z'))).toBe(true); // 00:00 the next day
    expect(openingHoursSchema.safeParse({ periods: [['00:00', '24:01']] }).success).toBe(false);
    expect(openingHoursSchema.safeParse({ periods: [['24:30', '24:00']] }).success).toBe(false);
  });

  it('raises the 窗口不空岗 alarm after N minutes without staff in opening hours, and clears it on sign-in', async () => {
    const c = make({ unstaffed_alarm_min: 10 });
    c.start();
    vi.advanceTimersByTime(9 * 60_000);
    expect(c.status().alarms).toEqual([]);
    vi.advanceTimersByTime(2 * 60_000);
    expect(c.status().alarms).toMatchObject([{ kind: 'unstaffed', since: OPEN_TIME.toISOString() }]);
    await c.signIn('S1', '135790');
    expect(c.status().alarms).toEqual([]);
    const actions = (c.store.db.prepare('SELECT action FROM audit_log').all() as { action: string }[]).map(
      (r) => r.action,
    );
    expect(actions).toContain('alarm.raised');
    expect(actions).toContain('alarm.cleared');
    await c.close();
  });

  it('no alarm outside opening hours', async () => {
    vi.setSystemTime(new Date('2026-11-26T14:00:00Z')); // 22:00 Beijing
    const c = make({ unstaffed_alarm_min: 1 });
    c.start();
    vi.advanceTimersByTime(30 * 60_000);
    expect(c.status().alarms).toEqual([]);
    await c.close();
  });
});

describe('rating rules', () => {
  it('records the national fields of an API case, and a 未评价 record when the window times out', async () => {
    const c = make({ rating_timeout_s: 30 });
    await c.signIn('S1', '135790');
    c.openCase(aCase, 'api:bj', 'api');
    vi.advanceTimersByTime(31_000);
    expect(c.session.view().state).toBe('idle');
    expect(last(c)).toMatchObject({
      outcome: 'not_rated',
      level: null,
      source: 'timeout',
      case_ref: aCase.case_ref,
      item_code: 'ITEM-01',
      item_name: '营业执照变更',
      staff_no: 'S1',
      rater_type: 'company',
    });
    // Not rated, so the case may be opened again; rated now, with a reason.
    c.openCase(aCase, 'api:bj', 'api');
    vi.advanceTimersByTime(5_000);
    c.submitScreenRating({ level: 2, reasons: ['201', '202'], dimensions: { attitude: 2, efficiency: 1 } });
    expect(last(c)).toMatchObject({
      outcome: 'rated',
      level: 2,
      reasons: ['201', '202'],
      reason_status: 'given',
      reason_dict_version: defaultCounterConfig().reasons.version,
      dimensions: { attitude: 2, efficiency: 1 },
      anonymous: false,
      rater: { name: '张三', phone: '13900000000' },
      accepted_at: aCase.accepted_at,
      dept_id: 'D-SCJ',
      config_version: 'embedded-1',
      signals: [],
    });
    // 一事一评: the rated case cannot be opened again.
    vi.advanceTimersByTime(10_000);
    expect(() => c.openCase(aCase, 'api:bj', 'api')).toThrow(/一事一评/);
    await c.close();
  });

  it('一次一评 items may be rated again on a later visit', async () => {
    const c = make({ items: [{ code: 'ITEM-01', name: '营业执照变更', mode: 'per_visit' }] });
    await c.signIn('S1', '135790');
    c.openCase(aCase, 'api:bj', 'api');
    c.submitScreenRating({ level: 5 });
    vi.advanceTimersByTime(20_000);
    c.openCase(aCase, 'api:bj', 'api');
    c.submitScreenRating({ level: 4 });
    expect(c.store.unsentBatch(10).filter((r) => r.case_ref === aCase.case_ref)).toHaveLength(2);
    await c.close();
  });

  it('an anonymous rating carries no contact; anonymity is only honoured where the case allows it', async () => {
    const c = make();
    await c.signIn('S1', '135790');
    c.openCase(aCase, 'api:bj', 'api');
    vi.advanceTimersByTime(3_000);
    c.submitScreenRating({ level: 5, anonymous: true });
    expect(last(c)).toMatchObject({ anonymous: true, rater: null });
    vi.advanceTimersByTime(20_000);
    c.openCase({ ...aCase, case_ref: 'BJ-2', anonymous_allowed: false }, 'api:bj', 'api');
    vi.advanceTimersByTime(3_000);
    c.submitScreenRating({ level: 5, anonymous: true });
    expect(last(c)).toMatchObject({ anonymous: false, rater: { name: '张三' } });
    await c.close();
  });

  it('a 差评 on screen needs a reason of its level, unless the reason step timed out', async () => {
    const c = make();
    await c.signIn('S1', '135790');
    c.openRating(null);
    expect(() => c.submitScreenRating({ level: 1 })).toThrow(/原因/);
    expect(() => c.submitScreenRating({ level: 1, reasons: ['201'] })).toThrow(/不属于/);
    expect(() => c.submitScreenRating({ level: 4, reasons: ['201'] })).toThrow(/只有差评/);
    expect(c.session.view().state).toBe('rating_open');
    c.submitScreenRating({ level: 1, reason_timed_out: true });
    expect(last(c)).toMatchObject({ level: 1, reasons: [], reason_status: 'not_given' });
    await c.close();
  });

  it('a level from a keyboard-wedge pad is recorded with source wedge', async () => {
    const c = make();
    await c.signIn('S1', '135790');
    c.openRating(null);
    vi.advanceTimersByTime(5_000);
    c.submitScreenRating({ level: 4, source: 'wedge' });
    expect(last(c)).toMatchObject({ level: 4, source: 'wedge', pad: null });
    await c.close();
  });

  it('a 差评 from the pad is stored at once with reason not given', async () => {
    const c = make();
    await c.signIn('S1', '135790');
    c.openRating(null);
    vi.advanceTimersByTime(5_000);
    expect(c.handlePadPress({ bootId: 1, pressId: 1, key: 5, uptimeMs: 1 })).toBe(0);
    expect(last(c)).toMatchObject({
      level: 1,
      reason_status: 'not_given',
      source: 'pad',
      signals: ['no_case'],
    });
    await c.close();
  });

  it('first press counts; repeats within the ignore window are logged as ignored, later ones as no rating open', async () => {
    const c = make({ ignore_window_s: 10, thanks_s: 3 });
    await c.signIn('S1', '135790');
    c.openRating(null);
    vi.advanceTimersByTime(5_000);
    expect(c.handlePadPress({ bootId: 1, pressId: 1, key: 1, uptimeMs: 1 })).toBe(0);
    vi.advanceTimersByTime(1_000);
    expect(c.handlePadPress({ bootId: 1, pressId: 2, key: 5, uptimeMs: 2 })).toBe(1);
    vi.advanceTimersByTime(5_000); // thanks over, still inside the ignore window
    expect(c.handlePadPress({ bootId: 1, pressId: 3, key: 5, uptimeMs: 3 })).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(c.handlePadPress({ bootId: 1, pressId: 4, key: 5, uptimeMs: 4 })).toBe(1);
    const reasons = (
      c.store.db.prepare('SELECT reason FROM pad_presses ORDER BY press_id').all() as { reason: string }[]
    ).map((r) => r.reason);
    expect(reasons).toEqual(['rating', 'ignored_repeat', 'ignored_repeat', 'no_rating_open']);
    await c.close();
  });

  it('flags misuse signals: press right after staff opened, burst of presses, off hours', async () => {
    const c = make({ after_staff_action_s: 2, burst_presses: 3, burst_window_s: 10 });
    await c.signIn('S1', '135790');
    c.openRating('C-1');
    expect(c.handlePadPress({ bootId: 1, pressId: 1, key: 1, uptimeMs: 1 })).toBe(0);
    expect(last(c).signals).toEqual(['after_staff_action']);
    vi.advanceTimersByTime(9_000);
    c.handlePadPress({ bootId: 1, pressId: 2, key: 1, uptimeMs: 2 });
    c.openCase({ ...aCase, case_ref: 'C-2' }, 'api:bj', 'api');
    c.handlePadPress({ bootId: 1, pressId: 3, key: 1, uptimeMs: 3 });
    expect(last(c).signals).toEqual(['burst']);
    vi.setSystemTime(new Date('2026-11-26T15:00:00Z')); // 23:00 Beijing
    c.openCase({ ...aCase, case_ref: 'C-3' }, 'api:bj', 'api');
    vi.advanceTimersByTime(30_000);
    c.handlePadPress({ bootId: 1, pressId: 4, key: 1, uptimeMs: 4 });
    expect(last(c).signals).toEqual(['off_hours']);
    await c.close();
  });

  it('signing out with a window open records it as 未评价', async () => {
    const c = make();
    await c.signIn('S1', '135790');
    c.openCase(aCase, 'api:bj', 'api');
    c.signOut();
    expect(last(c)).toMatchObject({ outcome: 'not_rated', case_ref: aCase.case_ref, staff_no: 'S1' });
    await c.close();
  });

  it('activity restarts the rating window limit', async () => {
    const c = make({ rating_timeout_s: 30 });
    await c.signIn('S1', '135790');
    c.openRating(null);
    vi.advanceTimersByTime(25_000);
    c.activity();
    vi.advanceTimersByTime(25_000);
    expect(c.session.view().state).toBe('rating_open');
    vi.advanceTimersByTime(6_000);
    expect(c.session.view().state).toBe('idle');
    await c.close();
  });
});

describe('text from outside', () => {
  it('a lone surrogate in free text is stored as U+FFFD, and the stored record still verifies its hash', async () => {
    const { createHash } = await import('node:crypto');
    const { chainInput } = await import('../../src-shared/index.ts');
    const c = make();
    await c.signIn('S1', '135790');
    c.openRating(null);
    c.submitScreenRating({ level: 5, free_text: `好\uD800评` });
    const rec = last(c);
    expect(rec.free_text).toBe('好\uFFFD评');
    const { hash: h, ...body } = rec;
    expect(createHash('sha256').update(chainInput(body)).digest('hex')).toBe(h);
    await c.close();
  });
});
