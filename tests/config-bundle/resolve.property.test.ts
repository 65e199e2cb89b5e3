import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ConfigContent,
  configContentSchema,
  narrowContent,
  resolveWindow,
} from '../../src-shared/config-bundle.ts';
import { content, HALL, WINDOW } from './fixture.ts';

const base = configContentSchema.parse(content());

/** Optional overrides of two settings at hall and window level, and staff with random halls. */
const scenario = fc.record({
  hallTimeout: fc.option(fc.integer({ min: 5, max: 600 }), { nil: undefined }),
  windowTimeout: fc.option(fc.integer({ min: 5, max: 600 }), { nil: undefined }),
  hallThanks: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
  windowThanks: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
  windowHours: fc.boolean(),
  hallHours: fc.boolean(),
  staff: fc.array(
    fc.record({
      halls: fc.option(fc.subarray([HALL, 'DIV9-MAIN']), { nil: null }),
      atWindow: fc.boolean(),
    }),
    { maxLength: 8 },
  ),
  restrictWindow: fc.boolean(),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function build(s: Scenario) {
  const hallSettings = {
    ...(s.hallTimeout !== undefined ? { rating_timeout_s: s.hallTimeout } : {}),
    ...(s.hallThanks !== undefined ? { thanks_s: s.hallThanks } : {}),
  };
  const windowSettings = {
    ...(s.windowTimeout !== undefined ? { rating_timeout_s: s.windowTimeout } : {}),
    ...(s.windowThanks !== undefined ? { thanks_s: s.windowThanks } : {}),
  };
  const roster = s.staff.map((x, i) => ({
    staff_no: `S${i}`,
    name: `员工${i}`,
    photo_url: null,
    pin_hash: base.roster[0]?.pin_hash ?? '$argon2',
    hall_ids: x.halls,
  }));
  // A window may only name staff who serve in its hall (the schema refuses the rest).
  const atWindow = s.staff.flatMap((x, i) =>
    x.atWindow && (x.halls === null || x.halls.includes(HALL)) ? [`S${i}`] : [],
  );
  const c: ConfigContent = {
    ...base,
    roster,
    halls: base.halls.map((h) =>
      h.hall_id === HALL
        ? {
            hall_id: h.hall_id,
            hall_name: h.hall_name,
            settings: hallSettings,
            ...(s.hallHours
              ? { opening_hours: { periods: [['08:00', '12:00']], rest_day_periods: [] } }
              : {}),
          }
        : h,
    ) as ConfigContent['halls'],
    windows: base.windows.map((w) =>
      w.window_id === WINDOW
        ? {
            ...w,
            auto_sign_in: null,
            staff: s.restrictWindow ? atWindow : null,
            settings: windowSettings,
            ...(s.windowHours
              ? { opening_hours: { periods: [['14:00', '18:00']], rest_day_periods: [] } }
              : {}),
          }
        : w,
    ) as ConfigContent['windows'],
  };
  return { c: configContentSchema.parse(c), atWindow };
}

describe('resolving a window from the division content', () => {
  it('window overrides hall overrides division, field by field; staff reach a window only if it and their halls allow', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { c, atWindow } = build(s);
        const w = resolveWindow(c, HALL, WINDOW);
        if (!w) throw new Error('window missing');
        expect(w.rating_timeout_s).toBe(s.windowTimeout ?? s.hallTimeout ?? base.settings.rating_timeout_s);
        expect(w.thanks_s).toBe(s.windowThanks ?? s.hallThanks ?? base.settings.thanks_s);
        expect(w.pin_lock_s).toBe(base.settings.pin_lock_s);
        const hours = s.windowHours ? '14:00' : s.hallHours ? '08:00' : base.opening_hours.periods[0]?.[0];
        expect(w.opening_hours.periods[0]?.[0]).toBe(hours);
        const expected = s.staff.flatMap((x, i) =>
          (x.halls === null || x.halls.includes(HALL)) && (!s.restrictWindow || atWindow.includes(`S${i}`))
            ? [`S${i}`]
            : [],
        );
        expect(w.roster.map((r) => r.staff_no)).toEqual(expected);
        // Narrowing and resolving again gives the same: what the counter resolves equals what the hub meant.
        const narrowed = narrowContent(c, HALL, WINDOW);
        expect(narrowed && resolveWindow(configContentSchema.parse(narrowed), HALL, WINDOW)).toEqual(w);
      }),
      { numRuns: 200 },
    );
  });
});
