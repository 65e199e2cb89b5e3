import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHub } from '../../hub/server.ts';
import { defaultCounterConfig } from '../../src-main/core/config.ts';
import { CounterStore } from '../../src-main/core/store/counter-store.ts';
import { SyncLoop, UPLOADS_IN_FLIGHT } from '../../src-main/core/sync.ts';
import type { SyncView } from '../../src-shared/index.ts';
import { enrolledSigner } from '../config-bundle/fixture.ts';
import { given, ratingCtx } from '../core/store-fixtures.ts';
import { testDb } from '../hub/harness.ts';
import { freePort, hubExport, testTmp, until, verifyHubChain } from './harness.ts';

const TOTAL = 200;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(testTmp(), 'haocha-pipeline-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function queued(n: number): CounterStore {
  const store = new CounterStore(join(dir, 'counter.sqlite'));
  for (let i = 0; i < n; i++) store.commitRating(given(5), ratingCtx({ case_ref: `C-${i}` }));
  return store;
}

/** fetch that counts the uploads in flight and may replace one answer (the hub still got it). */
function watched(replace?: (n: number) => Response | null) {
  const state = { inFlight: 0, most: 0, uploads: 0 };
  const impl: typeof fetch = async (url, init) => {
    const n = ++state.uploads;
    state.inFlight++;
    state.most = Math.max(state.most, state.inFlight);
    try {
      const res = await fetch(url, init);
      const text = await res.text();
      return replace?.(n) ?? new Response(text, { status: res.status, headers: res.headers });
    } finally {
      state.inFlight--;
    }
  };
  return { state, impl };
}

/**
 * Drains the store's queue to a real hub on loopback (signed by an enrolled device, or unsigned)
 * through `impl`; the hub is closed after. Returns the hub's database for hubExport.
 */
async function drain(
  store: CounterStore,
  impl: typeof fetch,
  opts: { signed: boolean; onChange?: (v: SyncView) => void },
): Promise<string | undefined> {
  const db = await testDb();
  const port = await freePort();
  const hubUrl = `http://127.0.0.1:${port}`;
  const hubDir = join(dir, 'hub');
  // A long seq-gap wait: uploads that overtake each other are put in order on a loaded machine too.
  const hub = await startHub({
    dataDir: hubDir,
    db,
    port,
    logger: false,
    requireSignatures: opts.signed,
    seqGapWaitMs: 10_000,
  });
  try {
    const signer = opts.signed
      ? await enrolledSigner(hubUrl, hubDir, join(dir, 'key'), store.deviceId)
      : null;
    const sync = {
      ...defaultCounterConfig().sync,
      batch_size: 20,
      interval_ms: 50,
      backoff_min_ms: 10,
      backoff_max_ms: 50,
    };
    const loop = new SyncLoop(store, hubUrl, sync, impl, signer);
    if (opts.onChange) loop.on('change', opts.onChange);
    try {
      loop.start();
      await until(() => store.queueStats().queue_depth === 0, 20_000, 'backlog drained');
    } finally {
      loop.stop();
    }
  } finally {
    await hub.close();
  }
  return db;
}

describe('a backlog drains with several uploads in flight', () => {
  it.each([
    ['signed', true],
    ['unsigned', false],
  ])(
    'keeps at most UPLOADS_IN_FLIGHT on the wire, and the hub stores them in seq order, each once (%s)',
    async (_name, signed) => {
      const store = queued(TOTAL);
      const { state, impl } = watched();
      const db = await drain(store, impl, { signed });
      expect(UPLOADS_IN_FLIGHT).toBe(4);
      expect(state.most).toBe(UPLOADS_IN_FLIGHT);
      expect(state.uploads).toBe(TOTAL / 20);
      const { records } = await hubExport(join(dir, 'hub'), db);
      expect(records.map((r) => r.seq)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
      expect(verifyHubChain(records, store.deviceId)).toBeNull();
      store.close();
    },
  );

  it('when the first answer is lost, the ones sent ahead are not taken as acked; all arrive once', async () => {
    const store = queued(TOTAL);
    // The hub stores upload 3, but its answer never arrives (a 503 from a proxy instead).
    const { state, impl } = watched((n) =>
      n === 3
        ? new Response('{"code":"BAD_GATEWAY"}', { status: 503, headers: { 'retry-after': '0' } })
        : null,
    );
    const acks: number[] = [];
    const db = await drain(store, impl, { signed: false, onChange: (v) => acks.push(v.last_acked_seq) });
    // Acks never go back and never skip past the lost answer before it was resent.
    expect(acks.every((a, i) => i === 0 || a >= (acks[i - 1] as number))).toBe(true);
    expect(state.uploads).toBeGreaterThan(TOTAL / 20);
    const { records } = await hubExport(join(dir, 'hub'), db);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
    store.close();
  });
});
