import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { ParseInput, ParseResult } from '../../hub/ingest-parse.ts';
import { parseIngestBody } from '../../hub/ingest-parse.ts';
import { IngestParsePool } from '../../hub/ingest-parse-pool.ts';
import { INGEST_BODY_LIMIT } from '../../hub/routes/ingest.ts';
import { buildHub } from '../../hub/server.ts';
import { makeTempDir } from './harness.ts';
import { batchOf, makeStream, seal } from './records.ts';

const stream = makeStream({ count: 40, legacy: (i) => i % 7 === 3 });
const good = batchOf(stream, 1, 40);
const pool = new IngestParsePool(1);
afterAll(() => pool.close());

function input(body: Uint8Array | string, patch: Partial<ParseInput> = {}): ParseInput {
  return {
    body: typeof body === 'string' ? Buffer.from(body) : body,
    gzip: false,
    deadLetters: false,
    maxBytes: INGEST_BODY_LIMIT,
    ...patch,
  };
}

/** The same body parsed in the worker and inline must give the same answer, byte for byte. */
async function both(i: ParseInput): Promise<ParseResult> {
  const inline = parseIngestBody(i);
  const threaded = await pool.parse(i);
  expect(threaded).toEqual(inline);
  return inline;
}

describe('upload parsing off the event loop (parse workers)', () => {
  it('gives the batch exactly as parsed inline, gzip or not', async () => {
    const text = JSON.stringify(good);
    const plain = await both(input(text));
    expect(plain).toEqual({ ok: true, batch: good, noLoneSurrogates: true });
    expect(await both(input(gzipSync(text), { gzip: true }))).toEqual(plain);
    expect(pool.running).toBe(1);
  });

  it('answers each bad body with its status and code, as the route did before', async () => {
    const text = JSON.stringify(good);
    const cases: [string, ParseInput, number, string, string][] = [
      ['empty', input(''), 400, 'BAD_REQUEST', 'empty'],
      ['not JSON', input('{"device_id":'), 400, 'BAD_REQUEST', 'not valid JSON'],
      ['not gzip', input('plain text', { gzip: true }), 400, 'BAD_REQUEST', 'not valid gzip'],
      ['a prototype key', input('{"__proto__":{"x":1}}'), 400, 'BAD_REQUEST', 'not valid JSON'],
      [
        'a zip bomb',
        input(gzipSync(' '.repeat(INGEST_BODY_LIMIT + 1)), { gzip: true }),
        413,
        'PAYLOAD_TOO_LARGE',
        'larger than',
      ],
      ['over the limit', input(text, { maxBytes: 100 }), 413, 'PAYLOAD_TOO_LARGE', 'larger than'],
      [
        'a bad field',
        input(JSON.stringify({ ...good, items: [{ ...good.items[0], level: 9 }] })),
        400,
        'BAD_REQUEST',
        'items.0.level',
      ],
      [
        'a wrong hash',
        input(JSON.stringify({ ...good, items: [{ ...good.items[0], hash: 'f'.repeat(64) }] })),
        400,
        'HASH_MISMATCH',
        'items.0.hash',
      ],
    ];
    for (const [name, body, statusCode, code, part] of cases) {
      const result = await both(body);
      expect(result, name).toMatchObject({ ok: false, statusCode, code });
      expect(result.ok ? '' : result.message, name).toContain(part);
    }
  });

  it('keeps an unreadable record as a dead letter only for a counter that takes them', async () => {
    const [first] = stream;
    const odd = seal({ ...(first as object), free_text: 'x'.repeat(600) } as never);
    const body = JSON.stringify({ device_id: good.device_id, items: [odd] });
    expect(await both(input(body))).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    const kept = await both(input(body, { deadLetters: true }));
    expect(kept.ok && kept.batch.items[0]).toMatchObject({ dead_letter: true, seq: 1 });
  });

  it('any damage to a gzip body gets the same answer in the worker as inline (property)', async () => {
    const gz = gzipSync(JSON.stringify(batchOf(stream, 1, 10)));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.nat(gz.length - 1), byte: fc.integer({ min: 0, max: 255 }) }), {
          maxLength: 4,
        }),
        fc.nat(gz.length),
        async (flips, cut) => {
          const damaged = Buffer.from(gz.subarray(0, Math.max(1, cut)));
          for (const { at, byte } of flips) if (at < damaged.length) damaged[at] = byte;
          const result = await both(input(damaged, { gzip: true }));
          // Whatever the damage, an answer: the batch itself, or a 4xx naming the problem.
          if (!result.ok) expect([400, 413]).toContain(result.statusCode);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a worker that dies with bodies in hand answers them 503 (sent again), and the next upload starts a new one', async () => {
    const big = JSON.stringify(batchOf(makeStream({ count: 500 }), 1, 500));
    const pending = [pool.parse(input(big)), pool.parse(input(big)), pool.parse(input(big))];
    await pool.recycle();
    const results = await Promise.all(pending);
    // The worker may finish one before it is ended; every other one is a 503, none is lost silently.
    expect(results.some((r) => !r.ok)).toBe(true);
    for (const r of results) {
      if (!r.ok) expect(r).toMatchObject({ statusCode: 503, code: 'PARSER_UNAVAILABLE' });
      else expect(r.batch.items).toHaveLength(500);
    }
    expect(await pool.parse(input(JSON.stringify(good)))).toEqual({
      ok: true,
      batch: good,
      noLoneSurrogates: true,
    });
    expect(pool.running).toBe(1);
  });

  it('warm() starts the workers before any upload, and a closed pool starts none', async () => {
    const warm = new IngestParsePool(1);
    expect(warm.running).toBe(0);
    warm.warm();
    expect(warm.running).toBe(1);
    expect(await warm.parse(input(JSON.stringify(good)))).toEqual({
      ok: true,
      batch: good,
      noLoneSurrogates: true,
    });
    expect(warm.running).toBe(1);
    await warm.close();
    warm.warm();
    expect(warm.running).toBe(0);
  });

  it('with no workers, parses inline; a closed pool answers 503', async () => {
    const inline = new IngestParsePool(0);
    expect(await inline.parse(input(JSON.stringify(good)))).toEqual({
      ok: true,
      batch: good,
      noLoneSurrogates: true,
    });
    expect(inline.running).toBe(0);
    const closed = new IngestParsePool(1);
    await closed.close();
    expect(await closed.parse(input(JSON.stringify(good)))).toMatchObject({
      ok: false,
      statusCode: 503,
      code: 'PARSER_UNAVAILABLE',
    });
  });

  it('uploads arriving together are parsed beside the event loop and each stored once, bad ones refused alone', async () => {
    const dir = await makeTempDir();
    const hub = await buildHub({ dataDir: dir, parseWorkers: 1 });
    try {
      const streams = Array.from({ length: 30 }, (_, d) => makeStream({ deviceId: `dev-${d}`, count: 60 }));
      const post = (payload: string | Buffer, gzip = false) =>
        hub.app.inject({
          method: 'POST',
          url: '/api/v1/ingest',
          headers: { 'content-type': 'application/json', ...(gzip ? { 'content-encoding': 'gzip' } : {}) },
          payload,
        });
      const replies = await Promise.all([
        ...streams.map((s, d) => {
          const text = JSON.stringify(batchOf(s, 1, 60));
          return d % 2 ? post(gzipSync(text), true) : post(text);
        }),
        post('{"device_id": "dev-x", "items": ['),
        post(JSON.stringify({ ...batchOf(streams[0] ?? [], 1, 2), device_id: 'dev-y' })),
      ]);
      expect(replies.slice(0, 30).map((r) => r.statusCode)).toEqual(Array(30).fill(200));
      expect(replies.slice(30).map((r) => r.statusCode)).toEqual([400, 400]);
      expect((await hub.store.summary()).ratings).toBe(30 * 60);
    } finally {
      await hub.close();
    }
  });
});
