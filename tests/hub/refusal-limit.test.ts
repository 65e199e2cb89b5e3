import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RefusalLimiter } from '../../hub/refusal-limit.ts';

describe('refused-signature limit per IP', () => {
  it('blocks an IP exactly while its window holds max refusals, and frees it when the window ends (property)', () => {
    const rule = { max: 4, windowMs: 1000 };
    const step = fc.record({
      ip: fc.constantFrom('10.0.0.1', '10.0.0.2'),
      advance: fc.integer({ min: 0, max: 400 }),
      refuse: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
        let now = 0;
        const limiter = new RefusalLimiter(rule, () => now);
        // The model: per IP, the start of its window and the refusals counted in it.
        const model = new Map<string, { start: number; count: number }>();
        for (const s of steps) {
          now += s.advance;
          const w = model.get(s.ip);
          const live = w && now - w.start < rule.windowMs ? w : undefined;
          const expected = live && live.count >= rule.max ? live.start + rule.windowMs - now : 0;
          expect(limiter.blockedFor(s.ip)).toBe(expected);
          if (s.refuse && expected === 0) {
            limiter.refused(s.ip);
            if (live) live.count++;
            else model.set(s.ip, { start: now, count: 1 });
          }
        }
      }),
    );
  });
});
