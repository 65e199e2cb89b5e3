import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hash } from '@node-rs/argon2';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type CounterConfig, defaultCounterConfig } from '../../src-main/core/config.ts';
import { Counter } from '../../src-main/core/counter.ts';
import { type AnyRatingRecord, chainInput, GENESIS_HASH, type Level } from '../../src-shared/index.ts';

/**
 * Model test of the counter session (issue 5): random sequences of sign-in (right and wrong PINs),
 * sign-out, pause, resume, case opens, staff opens, cancels, pad presses (new and repeated),
 * screen ratings, time passing and crashes (the process gone, the store reopened), against a real
 * store file. A small model says what must be allowed; invariants are checked on the store.
 */

const offline: typeof fetch = async () => {
  throw new Error('offline');
};

const STAFF = [
  { staff_no: 'S1', name: '王芳', pin: '111111' },
  { staff_no: 'S2', name: '艾力', pin: '222222' },
];
const CASES = ['C-1', 'C-2', 'C-3'];
// A Thursday at 11:00 Beijing time: inside the default opening hours.
const START = new Date('2026-11-26T03:00:00Z');

let config: CounterConfig;
beforeAll(async () => {
  const roster = await Promise.all(
    STAFF.map(async (s) => ({
      staff_no: s.staff_no,
      name: s.name,
      photo_url: null,
      pin_hash: await hash(s.pin),
    })),
  );
  config = { ...defaultCounterConfig(), roster, auto_sign_in: null, rating_timeout_s: 30, thanks_s: 5 };
});
afterAll(() => vi.useRealTimers());

type Op =
  | { t: 'signIn'; who: number; right: boolean }
  | { t: 'signOut' }
  | { t: 'pause' }
  | { t: 'resume' }
  | { t: 'openCase'; c: number }
  | { t: 'openStaff' }
  | { t: 'cancel' }
  | { t: 'press'; key: number; repeat: boolean }
  | { t: 'screen'; level: Level }
  | { t: 'tick'; ms: number }
  | { t: 'crash' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('signIn' as const), who: fc.nat(1), right: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'signOut' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'pause' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'resume' as const }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('openCase' as const), c: fc.nat(CASES.length - 1) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'openStaff' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'cancel' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('press' as const),
      key: fc.integer({ min: 1, max: 5 }),
      repeat: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('screen' as const), level: fc.constantFrom<Level>(5, 4, 3, 2, 1) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 40_000 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'crash' as const }) },
);

interface Model {
  staff: string | null;
  paused: boolean;
  /** The open window: its case (null for a staff open) and when it expires; undefined when none is open. */
  window: { case: string | null; expiresAt: number } | undefined;
  thanksUntil: number;
  ratedCases: Set<string>;
  failures: Map<string, { count: number; lockedUntil: number }>;
  notRatedExpected: number;
}

function advance(m: Model, now: number): void {
  // A window past its limit has closed unrated (未评价).
  if (m.window && now >= m.window.expiresAt) {
    m.window = undefined;
    m.notRatedExpected++;
  }
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

describe('counter session model (fast-check)', () => {
  it('at most one rating per case, none without an open window or for staff not signed in, presence log gap-free', async () => {
    vi.useFakeTimers({
      now: START,
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    });
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 40 }), async (ops) => {
          vi.setSystemTime(START);
          const dir = mkdtempSync(join(tmpdir(), 'haocha-model-'));
          const make = () =>
            new Counter({ dataDir: dir, hubUrl: 'http://127.0.0.1:9', config, fetchImpl: offline });
          let c = make();
          const m: Model = {
            staff: null,
            paused: false,
            window: undefined,
            thanksUntil: 0,
            ratedCases: new Set(),
            failures: new Map(),
            notRatedExpected: 0,
          };
          let pressId = 0;
          const bootId = 7;
          try {
            for (const op of ops) {
              const now = Date.now();
              advance(m, now);
              switch (op.t) {
                case 'signIn': {
                  const s = STAFF[op.who] as (typeof STAFF)[number];
                  const f = m.failures.get(s.staff_no) ?? { count: 0, lockedUntil: 0 };
                  const locked = f.lockedUntil > now;
                  let ok = true;
                  try {
                    await c.signIn(s.staff_no, op.right ? s.pin : '000000');
                  } catch (e) {
                    ok = false;
                    const code = (e as { code?: string }).code;
                    if (locked) expect(code).toBe('LOCKED');
                    else if (m.staff && m.staff !== s.staff_no && op.right) expect(code).toBe('SIGNED_IN');
                  }
                  const expectOk = !locked && op.right && (m.staff === null || m.staff === s.staff_no);
                  expect(ok).toBe(expectOk);
                  if (!locked && !op.right) {
                    const count = f.count + 1;
                    m.failures.set(
                      s.staff_no,
                      count >= config.pin_max_attempts
                        ? { count: 0, lockedUntil: now + config.pin_lock_s * 1000 }
                        : { count, lockedUntil: 0 },
                    );
                  }
                  if (ok) {
                    m.failures.delete(s.staff_no);
                    if (m.staff === null) m.paused = false;
                    m.staff = s.staff_no;
                  }
                  break;
                }
                case 'signOut':
                  c.signOut();
                  if (m.window) m.notRatedExpected++;
                  m.staff = null;
                  m.paused = false;
                  m.window = undefined;
                  break;
                case 'pause': {
                  const allowed = m.staff !== null && !m.window;
                  if (allowed) {
                    c.pause('break');
                    m.paused = true;
                  } else if (m.staff === null || m.window) expect(() => c.pause('break')).toThrow();
                  break;
                }
                case 'resume':
                  c.resume();
                  m.paused = false;
                  break;
                case 'openCase':
                case 'openStaff': {
                  const caseNo = op.t === 'openCase' ? (CASES[op.c] as string) : null;
                  const allowed =
                    m.staff !== null && !m.paused && !m.window && !(caseNo && m.ratedCases.has(caseNo));
                  let ok = true;
                  try {
                    if (caseNo) c.openRating(caseNo, 'api:model');
                    else c.openRating(null);
                  } catch {
                    ok = false;
                  }
                  expect(ok).toBe(allowed);
                  if (ok) m.window = { case: caseNo, expiresAt: now + config.rating_timeout_s * 1000 };
                  break;
                }
                case 'cancel':
                  c.cancelRating();
                  // A cancelled window is not a 未评价 record: staff closed it before the citizen was asked.
                  m.window = undefined;
                  break;
                case 'press': {
                  const repeat = op.repeat && pressId > 0;
                  const id = repeat ? pressId : ++pressId;
                  const before = c.store.queueStats().last_seq;
                  const status = c.handlePadPress({ bootId, pressId: id, key: op.key, uptimeMs: now });
                  if (!repeat) {
                    expect(status).toBe(m.window ? 0 : 1);
                    if (m.window) {
                      const rec = c.store.unsentBatch(100_000).at(-1) as AnyRatingRecord;
                      expect(rec.seq).toBe(before + 1);
                      expect(rec.staff_no).toBe(m.staff);
                      expect(rec.case_ref).toBe(m.window.case);
                      if (m.window.case) m.ratedCases.add(m.window.case);
                      m.window = undefined;
                    }
                  } else expect(c.store.queueStats().last_seq).toBe(before);
                  break;
                }
                case 'screen': {
                  const reasons = op.level <= 2 ? [op.level === 2 ? '201' : '101'] : [];
                  let ok = true;
                  try {
                    c.submitScreenRating({ level: op.level, reasons });
                  } catch {
                    ok = false;
                  }
                  expect(ok).toBe(m.window !== undefined);
                  if (ok && m.window) {
                    const rec = c.store.unsentBatch(100_000).at(-1) as AnyRatingRecord;
                    expect(rec.staff_no).toBe(m.staff);
                    if (m.window.case) m.ratedCases.add(m.window.case);
                    m.window = undefined;
                  }
                  break;
                }
                case 'tick':
                  await vi.advanceTimersByTimeAsync(op.ms);
                  advance(m, Date.now());
                  break;
                case 'crash':
                  await c.close();
                  c = make();
                  // The window dies with the process (no record); who was signed in is restored.
                  m.window = undefined;
                  m.failures.clear();
                  break;
              }
              // The counter and the model agree on who staffs the window and on its state.
              expect(c.session.signedIn()?.staff_no ?? null).toBe(m.staff);
              const st = c.session.state();
              if (m.staff === null) expect(st).toBe('signed_out');
              else if (m.paused) expect(st).toBe('paused');
              else if (m.window) expect(st).toBe('rating_open');
              else expect(['idle', 'thanks']).toContain(st);
            }
            advance(m, Date.now());

            // Invariants over everything stored.
            const records = c.store.unsentBatch(100_000);
            const rated = records.filter((r) => !('outcome' in r) || r.outcome === 'rated');
            const perCase = new Map<string, number>();
            for (const r of rated)
              if (r.case_ref) perCase.set(r.case_ref, (perCase.get(r.case_ref) ?? 0) + 1);
            for (const n of perCase.values()) expect(n).toBe(1);
            expect(records.length - rated.length).toBe(m.notRatedExpected);
            let prev = GENESIS_HASH;
            records.forEach((r, i) => {
              expect(r.seq).toBe(i + 1);
              expect(r.prev_hash).toBe(prev);
              const { hash: h, ...body } = r;
              expect(sha256(chainInput(body as never))).toBe(h);
              prev = h;
            });
            const presence = c.presence.entries();
            for (const [i, p] of presence.entries()) expect(p.seq).toBe(i + 1);
            for (const r of rated) expect(presence.some((p) => p.staff_no === r.staff_no)).toBe(true);
            await c.close();
          } finally {
            await c.close().catch(() => {});
            rmSync(dir, { recursive: true, force: true });
          }
        }),
        { numRuns: 80 },
      );
    } finally {
      vi.useRealTimers();
    }
  }, 120_000);
});
