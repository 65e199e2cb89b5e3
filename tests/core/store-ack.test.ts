import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openHubStore } from '../../hub/store/sqlite.ts';
import { withoutOwnFsync } from '../../hub/store/sqlite-guard.ts';
import { CounterStore } from '../../src-main/core/store/counter-store.ts';
import { given, ratingCtx } from './store-fixtures.ts';

/** PRAGMA synchronous: 2 is FULL, 1 is NORMAL. */
const FULL = 2;
let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('writes committed without an fsync of their own', () => {
  it('counter ack marks: stored, and the store is back at FULL for the next rating; inside a transaction too', () => {
    dir = mkdtempSync(join(tmpdir(), 'haocha-ack-'));
    const store = new CounterStore(join(dir, 'c.sqlite'));
    for (let i = 0; i < 5; i++) store.commitRating(given(5), ratingCtx({ case_ref: `C-${i}` }));
    expect(store.markAckedThrough(3)).toBe(3);
    expect(store.db.pragma('synchronous', { simple: true })).toBe(FULL);
    // Inside a caller's transaction SQLite refuses a safety-level change: the mark still lands.
    store.transact(() => expect(store.markAckedThrough(5)).toBe(2));
    expect(store.db.pragma('synchronous', { simple: true })).toBe(FULL);
    expect(store.queueStats().queue_depth).toBe(0);
    store.close();
  });

  it('hub nonces and heartbeats: FULL again afterwards, also when the write throws, and inside a transaction', async () => {
    dir = mkdtempSync(join(tmpdir(), 'haocha-ack-'));
    const hub = openHubStore(dir);
    const now = new Date();
    expect(await hub.trust.spendNonce('dev-1', 'nonce-0123456789abcdef', now, now, 300)).toBe(true);
    expect(await hub.trust.spendNonce('dev-1', 'nonce-0123456789abcdef', now, now, 300)).toBe(false);
    expect(hub.db.pragma('synchronous', { simple: true })).toBe(FULL);
    expect(() =>
      withoutOwnFsync(hub.db, () => {
        throw new Error('planted');
      }),
    ).toThrow('planted');
    expect(hub.db.pragma('synchronous', { simple: true })).toBe(FULL);
    hub.db.transaction(() => withoutOwnFsync(hub.db, () => hub.db.prepare('SELECT 1').get()))();
    expect(hub.db.pragma('synchronous', { simple: true })).toBe(FULL);
    await hub.close();
  });
});
