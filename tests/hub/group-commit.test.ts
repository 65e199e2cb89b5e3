import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { GROUP_COMMIT_MAX_ITEMS, openHubStore, type SqliteHubStore } from '../../hub/store/sqlite.ts';
import { makeTempDir } from './harness.ts';
import { batchOf, makeStream, seal } from './records.ts';

/** SQLite's group commit (hub/store/sqlite.ts): batches arriving together share a transaction, yet each stands alone. */
describe('SQLite hub store group commit', () => {
  let store: SqliteHubStore | null = null;
  let dir = '';
  afterEach(async () => {
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('stores batches from many devices given in one turn, each once, and one device’s consecutive batches in order', async () => {
    dir = await makeTempDir();
    store = openHubStore(dir);
    const streams = Array.from({ length: 40 }, (_, d) => makeStream({ deviceId: `dev-${d}`, count: 20 }));
    const pending = streams.flatMap((s) => [
      store?.ingest(batchOf(s, 1, 10), new Date()),
      store?.ingest(batchOf(s, 11, 20), new Date()),
      store?.ingest(batchOf(s, 5, 15), new Date()), // a re-send overlapping both: duplicates only
    ]);
    const outcomes = await Promise.all(pending);
    expect(outcomes.every((o) => o?.ok)).toBe(true);
    const stored = outcomes.reduce((n, o) => n + (o?.ok ? o.stored : 0), 0);
    expect(stored).toBe(40 * 20);
    expect((await store.summary()).ratings).toBe(800);
    for (const d of [0, 17, 39]) expect((await store.deviceCursor(`dev-${d}`))?.last_seq).toBe(20);
  });

  it(`a group holds about ${GROUP_COMMIT_MAX_ITEMS} records; the rest follow in the next turns, in order`, async () => {
    dir = await makeTempDir();
    store = openHubStore(dir);
    const per = 100;
    const each = GROUP_COMMIT_MAX_ITEMS / per; // batches per full group
    // Three devices, each with consecutive batches given in one turn: a device's later batches
    // land in later groups, and must still find the cursor its earlier ones left.
    const streams = Array.from({ length: 3 }, (_, d) =>
      makeStream({ deviceId: `dev-${d}`, count: each * per }),
    );
    const pending = [];
    for (let b = 0; b < each; b++)
      for (const s of streams) pending.push(store.ingest(batchOf(s, b * per + 1, (b + 1) * per), new Date()));
    const outcomes = await Promise.all(pending);
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    expect(outcomes.reduce((n, o) => n + (o.ok ? o.stored : 0), 0)).toBe(3 * each * per);
    expect(store.groupCommits).toEqual({ groups: 3, batches: 3 * each });
    for (const d of [0, 1, 2]) expect((await store.deviceCursor(`dev-${d}`))?.last_seq).toBe(each * per);
  });

  it('closing the store stores and answers the batches still queued for later groups', async () => {
    dir = await makeTempDir();
    store = openHubStore(dir);
    const streams = Array.from({ length: 30 }, (_, d) => makeStream({ deviceId: `q-${d}`, count: 100 }));
    const pending = streams.map((s) => store?.ingest(batchOf(s, 1, 100), new Date()));
    const closing = store.close();
    const outcomes = await Promise.all(pending);
    await closing;
    expect(outcomes.every((o) => o?.ok && o.stored === 100)).toBe(true);
    expect(store.groupCommits.groups).toBeGreaterThanOrEqual(3);
    store = openHubStore(dir);
    expect((await store.summary()).ratings).toBe(3000);
  });

  it('a batch larger than a group is a group of its own', async () => {
    dir = await makeTempDir();
    store = openHubStore(dir);
    const big = GROUP_COMMIT_MAX_ITEMS + 50;
    const a = makeStream({ deviceId: 'a', count: big });
    const b = makeStream({ deviceId: 'b', count: 10 });
    const [x, y] = await Promise.all([
      store.ingest(batchOf(a, 1, big), new Date()),
      store.ingest(batchOf(b, 1, 10), new Date()),
    ]);
    expect(x.ok && x.stored).toBe(big);
    expect(y.ok && y.stored).toBe(10);
    expect(store.groupCommits).toEqual({ groups: 2, batches: 2 });
  });

  it('a batch refused or failing inside a group changes nothing of its own and nothing of the others', async () => {
    dir = await makeTempDir();
    store = openHubStore(dir);
    const good = makeStream({ deviceId: 'good', count: 10 });
    const gap = makeStream({ deviceId: 'gap', count: 10 });
    // Valid by hash, but its time cannot be read: the store throws inside this batch's savepoint.
    const broken = makeStream({ deviceId: 'broken', count: 3 });
    const last = broken[2];
    if (!last) throw new Error('stream too short');
    broken[2] = seal({ ...last, hash: undefined, rated_at: 'not a time' } as never);
    const [a, b, c] = await Promise.allSettled([
      store.ingest(batchOf(good, 1, 10), new Date()),
      store.ingest(batchOf(gap, 4, 10), new Date()),
      store.ingest(batchOf(broken, 1, 3), new Date()),
    ]);
    expect(a.status === 'fulfilled' && a.value.ok && a.value.stored).toBe(10);
    expect(b.status === 'fulfilled' && !b.value.ok && b.value.rejection.code).toBe('SEQ_GAP');
    expect(c.status).toBe('rejected');
    expect(await store.deviceCursor('gap')).toBeNull();
    // The savepoint undid the broken batch's first two rows and its cursor, not the good batch.
    expect(await store.deviceCursor('broken')).toBeNull();
    expect((await store.summary()).ratings).toBe(10);
  });

  it('a batch failing alone in its group (no savepoint) is rejected and leaves nothing behind', async () => {
    dir = await makeTempDir();
    store = openHubStore(dir);
    const broken = makeStream({ deviceId: 'alone', count: 3 });
    const last = broken[2];
    if (!last) throw new Error('stream too short');
    broken[2] = seal({ ...last, hash: undefined, rated_at: 'not a time' } as never);
    await expect(store.ingest(batchOf(broken, 1, 3), new Date())).rejects.toThrow();
    // Its first two rows and its cursor were rolled back with the group's transaction.
    expect(await store.deviceCursor('alone')).toBeNull();
    expect((await store.summary()).ratings).toBe(0);
    // And the store goes on: the same device's good batch is stored after it.
    const good = makeStream({ deviceId: 'alone', count: 2 });
    const after = await store.ingest(batchOf(good, 1, 2), new Date());
    expect(after.ok && after.stored).toBe(2);
  });

  it('answers no batch before its group is fsynced; a failed fsync is a 503 and the resend is stored once', async () => {
    dir = await makeTempDir();
    store = openHubStore(dir);
    const real = store as unknown as { syncWal: () => Promise<void> };
    const realSync = real.syncWal.bind(store);
    let release: (error?: Error) => void = () => undefined;
    real.syncWal = () =>
      new Promise<void>((resolve, reject) => {
        release = (error) => (error ? reject(error) : realSync().then(resolve, reject));
      });
    const stream = makeStream({ deviceId: 'dev', count: 10 });
    let answered = false;
    const first = store.ingest(batchOf(stream, 1, 5), new Date()).then((o) => {
      answered = true;
      return o;
    });
    await new Promise((r) => setTimeout(r, 50));
    // Committed (the cursor moved) but not yet durable: no answer.
    expect((await store.deviceCursor('dev'))?.last_seq).toBe(5);
    expect(answered).toBe(false);
    release();
    expect((await first).ok).toBe(true);

    const second = store.ingest(batchOf(stream, 6, 10), new Date());
    await new Promise((r) => setTimeout(r, 20));
    release(new Error('EIO'));
    await expect(second).rejects.toMatchObject({ name: 'StoreUnavailableError' });
    real.syncWal = realSync;
    const again = await store.ingest(batchOf(stream, 6, 10), new Date());
    expect(again.ok && again.stored).toBe(0);
    expect((await store.summary()).ratings).toBe(10);
  });
});
