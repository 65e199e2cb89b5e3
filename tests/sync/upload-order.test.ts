/**
 * A counter's uploads travel on several connections and may reach the hub out of order; the hub
 * stores a device's uploads in seq order (hub/routes/ingest.ts: held from arrival, storeTurn, and a
 * bounded wait before a seq gap is answered). docs/decisions.md "Uploads by bytes".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { SEQ_GAP_WAIT_MS, STORE_TURN_MAX_MS } from '../../hub/routes/ingest.ts';
import { startHub } from '../../hub/server.ts';
import type { RequestSigner } from '../../src-main/core/enrollment.ts';
import { CounterStore } from '../../src-main/core/store/counter-store.ts';
import { cutBatch } from '../../src-main/core/sync.ts';
import { DEAD_LETTER_HEADER, HUB_API } from '../../src-shared/index.ts';
import { enrolledSigner } from '../config-bundle/fixture.ts';
import { given, ratingCtx } from '../core/store-fixtures.ts';
import { testDb } from '../hub/harness.ts';
import { freePort, hubExport, testTmp } from './harness.ts';

let dir: string;
let store: CounterStore;
let hub: Awaited<ReturnType<typeof startHub>>;
let db: string | undefined;
let url: string;
let signer: RequestSigner;

beforeEach(async () => {
  dir = mkdtempSync(join(testTmp(), 'haocha-upload-order-'));
  store = new CounterStore(join(dir, 'counter.sqlite'));
  for (let i = 0; i < 60; i++) store.commitRating(given(5), ratingCtx({ case_ref: `C-${i}` }));
  db = await testDb();
});

/** The hub, and the counter enrolled at it; `seqGapWaitMs` undefined is the hub's default. */
async function start(seqGapWaitMs?: number): Promise<void> {
  const port = await freePort();
  hub = await startHub({ dataDir: join(dir, 'hub'), db, port, logger: false, seqGapWaitMs });
  url = `http://127.0.0.1:${port}`;
  signer = await enrolledSigner(url, join(dir, 'hub'), join(dir, 'key'), store.deviceId);
}
afterEach(async () => {
  await hub.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The signed upload of records after `afterSeq` (20 of them), as the counter sends it. */
async function upload(afterSeq: number): Promise<{ body: Buffer; headers: Record<string, string> }> {
  const rows = store.unsentJson(20, afterSeq);
  const { body } = cutBatch(
    store.deviceId,
    rows.map((r) => r.json),
    { maxBytes: 1 << 20, maxItems: 20, maxRawBytes: 1 << 22 },
  );
  const base = { 'content-type': 'application/json', 'content-encoding': 'gzip', [DEAD_LETTER_HEADER]: '1' };
  return { body, headers: await signer.headers('POST', `${url}${HUB_API}/ingest`, body, base) };
}

async function send(u: { body: Buffer; headers: Record<string, string> }) {
  const res = await fetch(`${url}${HUB_API}/ingest`, {
    method: 'POST',
    headers: u.headers,
    body: new Uint8Array(u.body),
  });
  return { status: res.status, body: (await res.json()) as { code?: string; ack_through_seq?: number } };
}

it('a batch that overtook the one before it waits for it, and both are stored in order', async () => {
  // A wait far longer than the default, so this holds on a loaded machine too.
  await start(10_000);
  const [first, second] = [await upload(0), await upload(20)];
  const late = send(second);
  await new Promise((r) => setTimeout(r, 200));
  const early = send(first);
  const [a, b] = await Promise.all([early, late]);
  expect(a).toMatchObject({ status: 200, body: { ack_through_seq: 20 } });
  expect(b).toMatchObject({ status: 200, body: { ack_through_seq: 40 } });
  const { records } = await hubExport(join(dir, 'hub'), db);
  expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
});

it('a real gap is still answered 409 SEQ_GAP, after the wait', async () => {
  await start();
  const t0 = performance.now();
  const res = await send(await upload(20));
  expect(res).toMatchObject({ status: 409, body: { code: 'SEQ_GAP' } });
  expect(performance.now() - t0).toBeGreaterThanOrEqual(SEQ_GAP_WAIT_MS - 50);
});

it('a request that claims the device and stalls delays its uploads by a bounded time, never hangs them', async () => {
  // Headers naming the device (its real Signature-Input, so the hub holds it as the device's),
  // then a body that never comes.
  await start();
  const stalled = await upload(0);
  const socket = connect(Number(new URL(url).port), '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const head = Object.entries({ ...stalled.headers, 'content-length': String(stalled.body.length) })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.write(`POST ${HUB_API}/ingest HTTP/1.1\r\nhost: 127.0.0.1\r\n${head}\r\n`);
  socket.write(stalled.body.subarray(0, 10));
  await new Promise((r) => setTimeout(r, 100));
  try {
    const t0 = performance.now();
    const res = await send(await upload(0));
    expect(res).toMatchObject({ status: 200, body: { ack_through_seq: 20 } });
    expect(performance.now() - t0).toBeLessThan(STORE_TURN_MAX_MS + 2000);
  } finally {
    socket.destroy();
  }
}, 20_000);
