import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHub } from '../../hub/server.ts';
import { CounterStore, plainGiven } from '../../src-main/core/store/counter-store.ts';
import { cutBatch, etaSeconds, SyncLoop, UploadRate } from '../../src-main/core/sync.ts';
import { ratingCtx } from '../core/store-fixtures.ts';
import { testDb } from '../hub/harness.ts';
import { hubExport, testTmp, until, verifyHubChain } from './harness.ts';

/** Text whose compressibility the generator controls: random CJK (poor) or a repeated run (good). */
const itemText = fc.oneof(
  fc.string({
    unit: fc.integer({ min: 0x4e00, max: 0x9fff }).map((c) => String.fromCodePoint(c)),
    maxLength: 700,
    size: 'max',
  }),
  fc.tuple(fc.string({ minLength: 1, maxLength: 4 }), fc.nat(3000)).map(([s, n]) => s.repeat(n)),
);

describe('cutBatch (pure)', () => {
  it('any sequence of record sizes: every batch within limits, oldest first, all of them in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ seq: fc.nat(), text: itemText }), { minLength: 1, maxLength: 60, size: 'max' }),
        fc.integer({ min: 1024, max: 16_384 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 2048, max: 65_536 }),
        // The ratio estimate may be anything, even far too optimistic: the check after gzip must hold.
        fc.array(fc.double({ min: 0.001, max: 1, noNaN: true }), { minLength: 1, maxLength: 5 }),
        (records, maxBytes, maxItems, maxRawBytes, ratios) => {
          const jsons = records.map((r) => Buffer.from(JSON.stringify(r)));
          const limits = { maxBytes, maxItems, maxRawBytes };
          const sent: unknown[] = [];
          let k = 0;
          let rest = jsons;
          while (rest.length > 0) {
            const cut = cutBatch('ctr-prop', rest, limits, ratios[k++ % ratios.length]);
            expect(cut.count).toBeGreaterThanOrEqual(1);
            expect(cut.count).toBeLessThanOrEqual(Math.min(maxItems, rest.length));
            // A record is never split: only a batch of one may exceed a limit.
            if (cut.count > 1) {
              expect(cut.body.length).toBeLessThanOrEqual(maxBytes);
            }
            const text = gunzipSync(cut.body).toString('utf8');
            if (cut.count > 1) expect(Buffer.byteLength(text)).toBeLessThanOrEqual(maxRawBytes);
            const batch = JSON.parse(text) as { device_id: string; items: unknown[] };
            expect(batch.device_id).toBe('ctr-prop');
            expect(batch.items).toHaveLength(cut.count);
            sent.push(...batch.items);
            rest = rest.slice(cut.count);
          }
          expect(sent).toEqual(records);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('gzips once when the estimate holds, and cuts again by the overshoot when it does not', () => {
    const items = Array.from({ length: 200 }, (_, i) =>
      Buffer.from(JSON.stringify({ seq: i, t: 'x'.repeat(100) })),
    );
    const limits = { maxBytes: 2048, maxItems: 500, maxRawBytes: 1 << 22 };
    // No estimate yet (ratio 1): the raw size alone bounds the count, one gzip, far under the limit.
    const first = cutBatch('d', items, limits);
    expect(first.attempts).toBe(1);
    expect(first.count).toBeLessThan(200);
    // With the learned (tiny) ratio the cut grows, and stays within the limit.
    const second = cutBatch('d', items, limits, first.ratio);
    expect(second.count).toBeGreaterThan(first.count);
    expect(second.body.length).toBeLessThanOrEqual(2048);
    // A ratio far too optimistic: the first gzip is over, the cut shrinks, still within the limit.
    const random = Array.from({ length: 100 }, () =>
      Buffer.from(JSON.stringify({ r: randomBytes(48).toString('base64') })),
    );
    const wrong = cutBatch('d', random, limits, 0.001);
    expect(wrong.attempts).toBeGreaterThan(1);
    expect(wrong.body.length).toBeLessThanOrEqual(2048);
  });

  it('a single record larger than the limit still goes, alone', () => {
    const big = JSON.stringify({ t: Array.from({ length: 4000 }, (_, i) => (i * 7919) % 9973).join(',') });
    const cut = cutBatch('d', [Buffer.from(big), Buffer.from('{"seq":2}')], {
      maxBytes: 1024,
      maxItems: 10,
      maxRawBytes: 1 << 22,
    });
    expect(cut.count).toBe(1);
    expect(cut.body.length).toBeGreaterThan(1024);
  });
});

describe('progress figures', () => {
  it('the rate is acked ratings per second over the window; the ETA is the queue over the rate', () => {
    let t = 0;
    const rate = new UploadRate(60_000, () => t);
    expect(rate.perSecond()).toBeNull();
    rate.add(0, 0);
    t = 1000;
    rate.add(500, 100);
    t = 2000;
    rate.add(1500, 100);
    expect(rate.perSecond()).toBe(100);
    expect(etaSeconds(1000, rate.perSecond())).toBe(10);
    expect(etaSeconds(0, null)).toBe(0);
    expect(etaSeconds(5, null)).toBeNull();
    t = 200_000;
    expect(rate.perSecond()).toBeNull();
  });

  it('ETA is a whole number of seconds covering the queue', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.double({ min: 0.01, max: 1e5, noNaN: true }),
        (q, r) => {
          const eta = etaSeconds(q, r) as number;
          expect(Number.isInteger(eta)).toBe(true);
          expect(eta * r).toBeGreaterThanOrEqual(q - 1e-6 * q);
        },
      ),
    );
  });
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(testTmp(), 'haocha-batch-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('byte-cut uploads to a real hub', () => {
  it('large free_text records: every upload gzip body within the limit, many batches, order kept', async () => {
    // The hub's database: SQLite in the hub dir, or a fresh PostgreSQL schema (project hub-postgres).
    const db = await testDb();
    const hub = await startHub({ dataDir: join(dir, 'hub'), db, port: 0, logger: false });
    const store = new CounterStore(join(dir, 'counter.db'));
    // Random CJK: ~1.5 KB a record that gzip barely shrinks.
    const cjk = (n: number) =>
      Array.from({ length: n }, () => String.fromCodePoint(0x4e00 + Math.floor(Math.random() * 0x5000))).join(
        '',
      );
    const total = 120;
    for (let i = 0; i < total; i++) {
      store.commitRating({ ...plainGiven(5, null), free_text: cjk(500) }, ratingCtx({ case_ref: `C-${i}` }));
    }
    const bodies: { size: number; seqs: number[] }[] = [];
    // Watches what goes on the wire; the request itself goes to the real hub.
    const watching: typeof fetch = async (url, init) => {
      const body = Buffer.from(init?.body as Uint8Array);
      expect(new Headers(init?.headers).get('content-encoding')).toBe('gzip');
      const batch = JSON.parse(gunzipSync(body).toString('utf8')) as { items: { seq: number }[] };
      bodies.push({ size: body.length, seqs: batch.items.map((x) => x.seq) });
      return fetch(url, init);
    };
    const maxBytes = 16_384;
    const sync = new SyncLoop(
      store,
      hub.url,
      { interval_ms: 20, batch_size: 500, backoff_min_ms: 10, backoff_max_ms: 50, max_batch_bytes: maxBytes },
      watching,
    );
    try {
      sync.start();
      await until(() => store.queueStats().queue_depth === 0, 15_000, 'queue drained');
      expect(sync.view()).toMatchObject({ queue_depth: 0, eta_s: 0, hub: 'ok' });
      expect(sync.view().upload_rate).toBeGreaterThan(0);
    } finally {
      sync.stop();
      store.close();
      await hub.close();
    }
    expect(bodies.length).toBeGreaterThanOrEqual(8);
    for (const b of bodies) expect(b.size).toBeLessThanOrEqual(maxBytes);
    expect(bodies.flatMap((b) => b.seqs)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const { records } = await hubExport(join(dir, 'hub'), db);
    expect(records).toHaveLength(total);
    expect(verifyHubChain(records, (records[0] as { device_id: string }).device_id)).toBeNull();
  });
});
