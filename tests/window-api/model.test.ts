import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src-main/core/audit/audit-log.ts';
import { defaultCounterConfig } from '../../src-main/core/config.ts';
import { Counter } from '../../src-main/core/counter.ts';
import { startWindowApi } from '../../src-main/core/window-api/server.ts';

const offline: typeof fetch = async () => {
  throw new Error('offline');
};

const CASES = ['K-1', 'K-2', 'K-3'];
type Op =
  | { op: 'open'; c: string }
  | { op: 'press'; key: number }
  | { op: 'screen'; level: 1 | 2 | 3 | 4 | 5 }
  | { op: 'cancel' }
  | { op: 'staffOpen' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('open' as const), c: fc.constantFrom(...CASES) }),
  fc.record({ op: fc.constant('press' as const), key: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ op: fc.constant('screen' as const), level: fc.constantFrom(1, 2, 3, 4, 5) }),
  fc.constant({ op: 'cancel' as const }),
  fc.constant({ op: 'staffOpen' as const }),
);

describe('window API model (random sequences of API calls, presses and staff actions)', () => {
  it('keeps one rating per case, answers like the model, and never breaks the audit chain', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
        const dir = mkdtempSync(join(tmpdir(), 'haocha-winapi-model-'));
        const counter = new Counter({
          dataDir: dir,
          hubUrl: 'http://127.0.0.1:9',
          config: defaultCounterConfig(),
          fetchImpl: offline,
        });
        const api = await startWindowApi({ counter, port: 0, token: 't'.repeat(43), log: () => {} });
        const headers = { authorization: `Bearer ${'t'.repeat(43)}`, 'content-type': 'application/json' };
        // The model: which case the open window is for (undefined: none open), and the state of each case.
        let open: string | null | undefined;
        const model = new Map<string, 'pending' | 'rated' | 'not_rated'>();
        let press = 0;
        try {
          for (const o of ops) {
            if (o.op === 'open') {
              const res = await fetch(`${api.url}/api/v1/case`, {
                method: 'POST',
                headers,
                body: JSON.stringify({
                  case_no: o.c,
                  item_code: 'I',
                  item_name: 'item',
                  applicant_type: 'person',
                  anonymous_allowed: true,
                }),
              });
              const expected = open !== undefined ? 409 : model.get(o.c) === 'rated' ? 409 : 201;
              expect(res.status).toBe(expected);
              await res.body?.cancel();
              if (expected === 201) {
                open = o.c;
                model.set(o.c, 'pending');
              }
            } else if (o.op === 'staffOpen') {
              // Staff cannot take over an open window: they close it first.
              if (open !== undefined) expect(() => counter.openRating(null)).toThrow(/already open/);
              else {
                counter.openRating(null);
                open = null;
              }
            } else if (o.op === 'cancel') {
              if (open) model.set(open, 'not_rated');
              counter.cancelRating();
              open = undefined;
            } else {
              const rated =
                o.op === 'press'
                  ? counter.handlePadPress({ bootId: 1, pressId: ++press, key: o.key, uptimeMs: press }) === 0
                  : (() => {
                      try {
                        counter.submitScreenRating({ level: o.level, reason_timed_out: true });
                        return true;
                      } catch {
                        return false;
                      }
                    })();
              expect(rated).toBe(open !== undefined);
              if (open) model.set(open, 'rated');
              open = undefined;
            }
          }
          for (const c of CASES) {
            const res = await fetch(`${api.url}/api/v1/case/${c}/rating`, { headers });
            const m = model.get(c);
            expect(res.status).toBe(m ? 200 : 404);
            const body = (await res.json()) as { status: string };
            if (m) expect(body.status).toBe(m);
            const n = counter.store.db
              .prepare('SELECT COUNT(*) AS n FROM ratings WHERE case_ref = ?')
              .get(c) as {
              n: number;
            };
            expect(n.n).toBe(m === 'rated' ? 1 : 0);
          }
          expect(verifyAuditChain(counter.store.db).ok).toBe(true);
          const leaks = counter.store.db
            .prepare("SELECT COUNT(*) AS n FROM audit_log WHERE details LIKE '%level%'")
            .get();
          expect(leaks).toEqual({ n: 0 });
        } finally {
          await api.close();
          await counter.close();
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 40 },
    );
  }, 60_000);
});
