import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IngestBatch } from '../../src-shared/index.ts';
import { asError, asReply, asStats, openTestHub, type TestHub } from './harness.ts';
import { batchOf, forkStream, makeStream, seal } from './records.ts';

const DAY = '2026-11-27';

let t: TestHub;
beforeEach(async () => {
  t = await openTestHub();
});
afterEach(async () => {
  await t.cleanup();
});

async function total(): Promise<number> {
  return asStats(await t.get(`/api/v1/stats?from=${DAY}&to=${DAY}`)).totals.total;
}

async function cursorOf(deviceId: string): Promise<number | undefined> {
  return (await t.hub.store.deviceCursor(deviceId))?.last_seq;
}

describe('POST /api/v1/ingest: accepted batches', () => {
  it('stores and counts a batch, and acks through its last seq', async () => {
    const stream = makeStream({ count: 10 });
    const res = await t.post(batchOf(stream, 1, 10));
    expect(res.status).toBe(200);
    const reply = asReply(res);
    expect(reply.ack_through_seq).toBe(10);
    expect(reply.items).toEqual(stream.map((r) => ({ seq: r.seq, status: 'stored' })));
    expect(await total()).toBe(10);
    expect(await cursorOf('counter-01')).toBe(10);
  });

  it('answers a re-sent batch with all duplicate and counts nothing twice', async () => {
    const stream = makeStream({ count: 10 });
    await t.post(batchOf(stream, 1, 10));
    const ratingsBefore = ((await t.snapshot()) as { ratings: unknown[] }).ratings;

    const reply = asReply(await t.post(batchOf(stream, 1, 10)));
    expect(reply.items.every((i) => i.status === 'duplicate')).toBe(true);
    expect(reply.ack_through_seq).toBe(10);
    expect(((await t.snapshot()) as { ratings: unknown[] }).ratings).toEqual(ratingsBefore);
    expect(await total()).toBe(10);
  });

  it('stores only the new part of an overlapping batch (1..10 then 5..15)', async () => {
    const stream = makeStream({ count: 15 });
    await t.post(batchOf(stream, 1, 10));
    const reply = asReply(await t.post(batchOf(stream, 5, 15)));
    expect(reply.items).toEqual([
      ...[5, 6, 7, 8, 9, 10].map((seq) => ({ seq, status: 'duplicate' })),
      ...[11, 12, 13, 14, 15].map((seq) => ({ seq, status: 'stored' })),
    ]);
    expect(reply.ack_through_seq).toBe(15);
    expect(await total()).toBe(15);
  });

  it('acks through the cursor when an old batch is re-sent after newer ones', async () => {
    const stream = makeStream({ count: 20 });
    await t.post(batchOf(stream, 1, 10));
    await t.post(batchOf(stream, 11, 20));
    const reply = asReply(await t.post(batchOf(stream, 1, 10)));
    expect(reply.ack_through_seq).toBe(20);
    expect(await total()).toBe(20);
  });

  it('keeps devices apart: each has its own seq and cursor', async () => {
    const a = makeStream({ deviceId: 'counter-a', count: 3 });
    const b = makeStream({ deviceId: 'counter-b', count: 4 });
    expect(asReply(await t.post(batchOf(a, 1, 3))).ack_through_seq).toBe(3);
    expect(asReply(await t.post(batchOf(b, 1, 4))).ack_through_seq).toBe(4);
    expect(await cursorOf('counter-a')).toBe(3);
    expect(await cursorOf('counter-b')).toBe(4);
    expect(await total()).toBe(7);
  });

  it('counts an event_id already stored under another (device, seq) once, as a duplicate', async () => {
    const a = makeStream({ deviceId: 'counter-a', count: 2 });
    await t.post(batchOf(a, 1, 2));
    const b = makeStream({ deviceId: 'counter-b', count: 2 });
    const { hash: _h, ...body } = b[0] ?? expect.unreachable();
    const b1 = seal({ ...body, event_id: a[0]?.event_id ?? '' });
    const { hash: _h2, ...body2 } = b[1] ?? expect.unreachable();
    const b2 = seal({ ...body2, prev_hash: b1.hash });
    const batch: IngestBatch = { device_id: 'counter-b', items: [b1, b2] };

    const reply = asReply(await t.post(batch));
    expect(reply.items).toEqual([
      { seq: 1, status: 'duplicate' },
      { seq: 2, status: 'stored' },
    ]);
    expect(reply.ack_through_seq).toBe(2);
    expect(await total()).toBe(3);
    // The chain link is kept, so re-sending the same batch is still recognised.
    expect(asReply(await t.post(batch)).items.map((i) => i.status)).toEqual(['duplicate', 'duplicate']);
    expect(await total()).toBe(3);
  });

  it('accepts a gzip-encoded body', async () => {
    const stream = makeStream({ count: 5 });
    const res = await t.hub.app.inject({
      method: 'POST',
      url: '/api/v1/ingest',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      payload: gzipSync(JSON.stringify(batchOf(stream, 1, 5))),
    });
    expect(res.statusCode).toBe(200);
    expect(asReply({ json: res.json() }).ack_through_seq).toBe(5);
    expect(await total()).toBe(5);
  });
});

describe('POST /api/v1/ingest: bad batches change nothing', () => {
  const stream = makeStream({ count: 10 });
  const good = () => structuredClone(batchOf(stream, 6, 10));
  const bad = (edit: (b: { device_id: unknown; items: Record<string, unknown>[] }) => void) => {
    const b = good() as unknown as { device_id: unknown; items: Record<string, unknown>[] };
    edit(b);
    return JSON.stringify(b);
  };

  const cases: [name: string, body: string, code: string, messagePart: string][] = [
    ['a missing field', bad((b) => delete b.items[2]?.staff_no), 'BAD_REQUEST', 'items.2.staff_no'],
    ['a wrong type', bad((b) => Object.assign(b.items[0] ?? {}, { seq: '6' })), 'BAD_REQUEST', 'items.0.seq'],
    ['level 6', bad((b) => Object.assign(b.items[1] ?? {}, { level: 6 })), 'BAD_REQUEST', 'items.1.level'],
    ['an unknown field', bad((b) => Object.assign(b.items[0] ?? {}, { extra: 1 })), 'BAD_REQUEST', 'items.0'],
    [
      'an item of another device',
      bad((b) => Object.assign(b.items[4] ?? {}, { device_id: 'x' })),
      'BAD_REQUEST',
      'items.4.device_id',
    ],
    ['empty items', JSON.stringify({ device_id: 'counter-01', items: [] }), 'BAD_REQUEST', 'items'],
    ['a seq gap inside the batch', bad((b) => b.items.splice(2, 1)), 'BAD_REQUEST', 'items.2.seq'],
    ['a body that is not JSON', '{"device_id": "counter-01", "items": [', 'BAD_REQUEST', 'JSON'],
    ['a JSON array', '[]', 'BAD_REQUEST', 'body'],
    ['JSON null', 'null', 'BAD_REQUEST', 'body'],
    ['an empty body', '', 'BAD_REQUEST', 'empty'],
    [
      'a hash that does not match the record',
      bad((b) => Object.assign(b.items[1] ?? {}, { staff_name: '李四' })),
      'HASH_MISMATCH',
      'items.1.hash',
    ],
  ];

  it.each(cases)('rejects %s with 400', async (_name, body, code, messagePart) => {
    await t.post(batchOf(stream, 1, 5));
    const before = await t.snapshot();
    const metricsBefore = (await t.get('/metrics')).body;

    const res = await t.post(body);
    expect(res.status).toBe(400);
    const error = asError(res);
    expect(error).toMatchObject({ statusCode: 400, code, error: 'Bad Request' });
    expect(error.message).toContain(messagePart);

    expect(await t.snapshot()).toEqual(before);
    expect(await cursorOf('counter-01')).toBe(5);
    expect(await total()).toBe(5);
    expect(rejected((await t.get('/metrics')).body, code)).toBe(rejected(metricsBefore, code) + 1);
  });

  it('rejects text/plain with 400 and other media types with 415, changing nothing', async () => {
    const before = await t.snapshot();
    const text = await t.post(JSON.stringify(good()), { 'content-type': 'text/plain' });
    expect(text.status).toBe(400);
    expect(asError(text)).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('body') });
    const xml = await t.post('<batch/>', { 'content-type': 'application/xml' });
    expect(xml.status).toBe(415);
    expect(asError(xml).code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(await t.snapshot()).toEqual(before);
  });

  it('rejects broken gzip with 400 and an unknown encoding with 415', async () => {
    const before = await t.snapshot();
    const broken = await t.hub.app.inject({
      method: 'POST',
      url: '/api/v1/ingest',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      payload: Buffer.from('not gzip at all'),
    });
    expect(broken.statusCode).toBe(400);
    expect(asError({ json: broken.json() }).code).toBe('BAD_REQUEST');
    const br = await t.post(JSON.stringify(good()), { 'content-encoding': 'br' });
    expect(br.status).toBe(415);
    expect(await t.snapshot()).toEqual(before);
  });

  it('rejects a body over the limit with 413 PAYLOAD_TOO_LARGE, also when gzip hides the size', async () => {
    const huge = JSON.stringify({ device_id: 'counter-01', items: [], pad: 'x'.repeat(5 * 1024 * 1024) });
    const res = await t.post(huge);
    expect(res.status).toBe(413);
    expect(asError(res).code).toBe('PAYLOAD_TOO_LARGE');
    const bomb = await t.hub.app.inject({
      method: 'POST',
      url: '/api/v1/ingest',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      payload: gzipSync(huge),
    });
    expect(bomb.statusCode).toBe(413);
  });
});

describe('POST /api/v1/ingest: chain rules', () => {
  it('answers a seq gap with 409 SEQ_GAP and the cursor, changing nothing', async () => {
    const stream = makeStream({ count: 10 });
    await t.post(batchOf(stream, 1, 5));
    const before = await t.snapshot();
    const res = await t.post(batchOf(stream, 8, 10));
    expect(res.status).toBe(409);
    expect(asError(res)).toMatchObject({ statusCode: 409, code: 'SEQ_GAP', error: 'Conflict', cursor: 5 });
    expect(await t.snapshot()).toEqual(before);
  });

  it('answers SEQ_GAP with cursor 0 to a device never seen that does not start at seq 1', async () => {
    const stream = makeStream({ count: 5 });
    const res = await t.post(batchOf(stream, 3, 5));
    expect(res.status).toBe(409);
    expect(asError(res)).toMatchObject({ code: 'SEQ_GAP', cursor: 0 });
    expect(await cursorOf('counter-01')).toBeUndefined();
  });

  it('answers a forked stream (same seq, other content) with 409 CONFLICT, changing nothing', async () => {
    const stream = makeStream({ count: 12 });
    await t.post(batchOf(stream, 1, 10));
    const before = await t.snapshot();
    const fork = forkStream(stream, 5);
    for (const [from, to] of [
      [5, 10],
      [1, 12],
      [10, 12],
    ] as const) {
      const res = await t.post(batchOf(fork, from, to));
      expect(res.status).toBe(409);
      expect(asError(res)).toMatchObject({ code: 'CONFLICT', cursor: 10 });
    }
    expect(await t.snapshot()).toEqual(before);
    expect(await total()).toBe(10);
  });

  it('answers a new item that does not link to the stored head with 409 CHAIN_MISMATCH', async () => {
    const stream = makeStream({ count: 15 });
    await t.post(batchOf(stream, 1, 10));
    const before = await t.snapshot();
    const other = forkStream(stream, 6); // same seqs 11..15, but chained to a different seq 10
    const res = await t.post(batchOf(other, 11, 15));
    expect(res.status).toBe(409);
    expect(asError(res)).toMatchObject({ code: 'CHAIN_MISMATCH', cursor: 10 });
    expect(asError(res).message).toContain('items.0.prev_hash');
    expect(await t.snapshot()).toEqual(before);
  });

  it('rejects a batch whose own links are broken with 409 CHAIN_MISMATCH', async () => {
    const stream = makeStream({ count: 5 });
    const { hash: _h, ...body } = stream[2] ?? expect.unreachable();
    const items = [...stream];
    items[2] = seal({ ...body, prev_hash: 'a'.repeat(64) });
    const res = await t.post({ device_id: 'counter-01', items });
    expect(res.status).toBe(409);
    expect(asError(res)).toMatchObject({ code: 'CHAIN_MISMATCH', cursor: 0 });
    expect(asError(res).message).toContain('items.2.prev_hash');
    expect(await total()).toBe(0);
  });
});

describe('other routes', () => {
  it('answers an unknown route with 404 in the hub error shape', async () => {
    const res = await t.get('/api/v1/nope');
    expect(res.status).toBe(404);
    expect(asError(res).code).toBe('NOT_FOUND');
  });

  it('answers 503 STORE_UNAVAILABLE with Retry-After when the store cannot serve', async () => {
    await t.breakStore();
    const res = await t.hub.app.inject({
      method: 'POST',
      url: '/api/v1/ingest',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(batchOf(makeStream({ count: 1 }), 1, 1)),
    });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(asError({ json: res.json() }).code).toBe('STORE_UNAVAILABLE');
    const health = await t.get('/healthz');
    expect(health.status).toBe(503);
    expect(asError(health).code).toBe('STORE_UNAVAILABLE');
  });

  it('reports health and Prometheus metrics', async () => {
    const stream = makeStream({ count: 4 });
    await t.post(batchOf(stream, 1, 4));
    await t.post(batchOf(stream, 1, 4));
    await t.post(JSON.stringify({ device_id: 1 }));
    expect((await t.get('/healthz')).json).toEqual({ status: 'ok' });
    const res = await t.get('/metrics');
    expect(res.status).toBe(200);
    expect(String(res.headers['content-type'])).toContain('text/plain');
    expect(res.body).toContain('haocha_hub_ratings_stored_total 4\n');
    expect(res.body).toContain('haocha_hub_ratings_duplicate_total 4\n');
    expect(res.body).toContain('haocha_hub_ingest_rejected_total{code="BAD_REQUEST"} 1\n');
    expect(res.body).toContain('haocha_hub_ingest_rejected_total{code="SEQ_GAP"} 0\n');
    expect(res.body).toContain('haocha_hub_ratings 4\n');
    expect(res.body).toContain('haocha_hub_devices 1\n');
  });
});

function rejected(metrics: string, code: string): number {
  const match = new RegExp(`^haocha_hub_ingest_rejected_total\\{code="${code}"\\} (\\d+)$`, 'm').exec(
    metrics,
  );
  return Number(match?.[1] ?? Number.NaN);
}
