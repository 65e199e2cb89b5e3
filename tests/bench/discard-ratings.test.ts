import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { DiscardRatingsStore } from '../../bench/lib/discard-ratings.ts';
import { buildHub } from '../../hub/server.ts';
import { asReply, makeTempDir } from '../hub/harness.ts';
import { batchOf, makeStream } from '../hub/records.ts';

// The fleet benchmark's floor (`--store discard`) is only worth its figures if the hub it measures
// answers uploads as a storing hub does while keeping none of them.
describe('the fleet benchmark floor: a hub whose store discards ratings', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers every record stored, keeps none, and uses the real store for the rest', async () => {
    dir = await makeTempDir();
    let wrapped: DiscardRatingsStore | undefined;
    const hub = await buildHub({
      dataDir: dir,
      wrapStore: (store) => {
        wrapped = new DiscardRatingsStore(store);
        return wrapped;
      },
    });
    try {
      expect(hub.store).toBe(wrapped);
      const stream = makeStream({ count: 6 });
      for (const [from, to] of [
        [1, 3],
        [4, 6],
      ] as const) {
        const res = await hub.app.inject({
          method: 'POST',
          url: '/api/v1/ingest',
          payload: batchOf(stream, from, to),
        });
        expect(res.statusCode).toBe(200);
        const reply = asReply({ json: res.json() });
        expect(reply.ack_through_seq).toBe(to);
        expect(reply.items.map((i) => i.status)).toEqual(['stored', 'stored', 'stored']);
      }
      expect(wrapped?.discarded).toBe(6);
      // Nothing was written: the real store under it holds no rating and no cursor.
      expect((await hub.store.summary()).ratings).toBe(0);
      expect(await hub.store.deviceCursor(stream[0]?.device_id ?? '')).toBeNull();
      // So are dead letters: the route takes them only from a store that lists them.
      expect(hub.store.listDeadLetters).toBeDefined();
      expect((await hub.store.listDeadLetters?.({}))?.dead_letters).toEqual([]);
      // Trust is the real store's: a token made through the wrapper is there.
      const token = await hub.store.trust.createToken('DIV9-MAIN', 'W01', 600, new Date());
      expect(token.token.length).toBeGreaterThan(10);
    } finally {
      await hub.close();
    }
    // Closing the hub closed the real store under the wrapper.
    await expect(wrapped?.ping()).rejects.toThrow();
  });
});
