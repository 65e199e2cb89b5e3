/**
 * Nonces are checked and marked in one synchronous step and written together once per turn of the
 * event loop (hub/store/sqlite-trust.ts): a nonce never passes twice, before or after the write, and
 * one spent just before the hub closes is still spent after it opens again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openHubStore } from '../../hub/store/sqlite.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-nonce-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const written = (hub: ReturnType<typeof openHubStore>) =>
  (hub.db.prepare('SELECT COUNT(*) AS n FROM spent_nonces').get() as { n: number }).n;
const turn = () => new Promise((resolve) => setImmediate(resolve));

it('spent in the same turn, in a later turn, and after a reopen: refused each time', async () => {
  let hub = openHubStore(dir);
  const now = new Date();
  const spend = (device: string, nonce: string) => hub.trust.spendNonce(device, nonce, now, now, 300);
  // Same turn: the second is refused before anything is written.
  const [a, b, other] = await Promise.all([
    spend('dev-1', 'nonce-aaaaaaaaaaaaaaaa'),
    spend('dev-1', 'nonce-aaaaaaaaaaaaaaaa'),
    spend('dev-2', 'nonce-aaaaaaaaaaaaaaaa'),
  ]);
  expect([a, b, other]).toEqual([true, false, true]);
  await turn();
  expect(written(hub)).toBe(2);
  expect(await spend('dev-1', 'nonce-aaaaaaaaaaaaaaaa')).toBe(false);
  // Spent, then closed before its turn ended: written at close.
  expect(await spend('dev-1', 'nonce-bbbbbbbbbbbbbbbb')).toBe(true);
  await hub.close();
  hub = openHubStore(dir);
  expect(await spend('dev-1', 'nonce-bbbbbbbbbbbbbbbb')).toBe(false);
  expect(await spend('dev-1', 'nonce-cccccccccccccccc')).toBe(true);
  await hub.close();
});

it('any interleaving of spends and turns: a nonce passes exactly once per device', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.constantFrom('d1', 'd2'), fc.integer({ min: 0, max: 5 }), fc.boolean()), {
        maxLength: 40,
      }),
      async (steps) => {
        const sub = mkdtempSync(join(dir, 'p-'));
        const hub = openHubStore(sub);
        const now = new Date();
        const passed = new Map<string, number>();
        for (const [device, n, yieldAfter] of steps) {
          const ok = await hub.trust.spendNonce(device, `nonce-${n}-0123456789abcdef`, now, now, 300);
          const key = `${device}/${n}`;
          if (ok) passed.set(key, (passed.get(key) ?? 0) + 1);
          if (yieldAfter) await turn();
        }
        expect([...passed.values()].every((c) => c === 1)).toBe(true);
        expect(passed.size).toBe(new Set(steps.map(([d, n]) => `${d}/${n}`)).size);
        await hub.close();
      },
    ),
    { numRuns: 60 },
  );
});
