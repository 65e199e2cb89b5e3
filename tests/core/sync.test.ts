import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHub } from '../../hub/server.ts';
import { type CounterConfig, defaultCounterConfig } from '../../src-main/core/config.ts';
import { Counter } from '../../src-main/core/counter.ts';
import { backoffDelay, parseRetryAfter } from '../../src-main/core/sync.ts';
import { HUB_API, type StatsReply } from '../../src-shared/index.ts';
import { hubExport } from '../sync/harness.ts';

let dir: string;
const cleanups: (() => Promise<void> | void)[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-sync-'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

function fastConfig(): CounterConfig {
  const c = defaultCounterConfig();
  return { ...c, sync: { interval_ms: 50, batch_size: 7, backoff_min_ms: 20, backoff_max_ms: 200 } };
}

async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function hubTotal(url: string): Promise<number> {
  const res = await fetch(`${url}${HUB_API}/stats`);
  return ((await res.json()) as StatsReply).totals.total;
}

function rate(counter: Counter, n: number) {
  for (let i = 0; i < n; i++) {
    counter.openRating(`C-${i}`);
    counter.submitScreenRating({ level: ((i % 5) + 1) as 1, reason_timed_out: true });
  }
}

describe('sync to a real hub over loopback', () => {
  it('uploads every rating once, in batches, and marks them acked', async () => {
    const hub = await startHub({ dataDir: join(dir, 'hub'), port: 0 });
    cleanups.push(() => hub.close());
    const counter = new Counter({ dataDir: join(dir, 'counter'), hubUrl: hub.url, config: fastConfig() });
    cleanups.push(() => counter.close());
    counter.start();
    rate(counter, 30);
    await until(() => counter.store.queueStats().queue_depth === 0);
    expect(await hubTotal(hub.url)).toBe(30);
    expect(counter.sync.view()).toMatchObject({ hub: 'ok', last_acked_seq: 30, queue_depth: 0 });
  });

  it('queues while the hub is down and delivers exactly once when it returns', async () => {
    // Reserve a port, then start the hub on it only later.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const hubUrl = `http://127.0.0.1:${port}`;
    const counter = new Counter({ dataDir: join(dir, 'counter'), hubUrl, config: fastConfig() });
    cleanups.push(() => counter.close());
    counter.start();
    rate(counter, 12);
    await until(() => counter.sync.view().hub === 'unreachable');
    expect(counter.store.queueStats().queue_depth).toBe(12);
    const hub = await startHub({ dataDir: join(dir, 'hub'), port });
    cleanups.push(() => hub.close());
    await until(() => counter.store.queueStats().queue_depth === 0);
    expect(await hubTotal(hub.url)).toBe(12);
  });

  it('a hub answer lost in transit does not double count: the resend is a duplicate', async () => {
    const hub = await startHub({ dataDir: join(dir, 'hub'), port: 0 });
    cleanups.push(() => hub.close());
    // A proxy that forwards the first upload but drops the hub's reply, like a link cut mid-answer.
    let dropped = false;
    const proxy: Server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const upstream = await fetch(`${hub.url}${req.url}`, {
        method: req.method,
        headers: {
          'content-type': String(req.headers['content-type'] ?? 'application/json'),
          // Uploads are gzip: pass the encoding on with the bytes.
          ...(req.headers['content-encoding'] ? { 'content-encoding': req.headers['content-encoding'] } : {}),
        },
        body: chunks.length ? Buffer.concat(chunks) : undefined,
      });
      const text = await upstream.text();
      if (!dropped) {
        dropped = true;
        req.socket.destroy();
        return;
      }
      res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(text);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => proxy.close(() => r())));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const counter = new Counter({ dataDir: join(dir, 'counter'), hubUrl: proxyUrl, config: fastConfig() });
    cleanups.push(() => counter.close());
    rate(counter, 5);
    counter.start();
    await until(() => counter.store.queueStats().queue_depth === 0);
    expect(dropped).toBe(true);
    expect(await hubTotal(hub.url)).toBe(5);
  });
});

describe('the error table', () => {
  it('backoff: full jitter between the minimum and the capped exponential', () => {
    fc.assert(
      fc.property(
        fc.nat(40),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 600_000 }),
        fc.double({ min: 0, max: 0.999_999, noNaN: true }),
        (attempt, min, max, r) => {
          const d = backoffDelay(attempt, min, max, () => r);
          expect(d).toBeGreaterThanOrEqual(min);
          expect(d).toBeLessThanOrEqual(Math.max(min, Math.min(max, min * 2 ** attempt)));
        },
      ),
    );
  });

  it('Retry-After: seconds or an HTTP date, null when unreadable', () => {
    const now = Date.parse('2026-11-26T12:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Thu, 26 Nov 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Thu, 26 Nov 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });

  it('413 halves the batch until the hub takes it; every rating still arrives once, in order', async () => {
    const hub = await startHub({ dataDir: join(dir, 'hub'), port: 0, logger: false });
    cleanups.push(() => hub.close());
    // A front that refuses batches of more than 3 items, as a hub with a small body limit would.
    const acked: number[] = [];
    const gaps: string[] = [];
    let refused = 0;
    const proxy: Server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      // Heartbeats and config pulls are not this test's business.
      if (!req.url?.endsWith('/ingest')) {
        res.writeHead(404).end();
        return;
      }
      const batch = JSON.parse(gunzipSync(body).toString('utf8')) as { items: { seq: number }[] };
      if (batch.items.length > 3) {
        refused++;
        res.writeHead(413, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            statusCode: 413,
            code: 'PAYLOAD_TOO_LARGE',
            error: 'Payload Too Large',
            message: 'too big',
          }),
        );
        return;
      }
      const upstream = await fetch(`${hub.url}${req.url}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          'x-haocha-dead-letter': '1',
        },
        body,
      });
      const answer = await upstream.text();
      // What the hub took. A batch sent ahead of one that was refused is itself refused by the
      // hub as a seq gap (nothing stored) and sent again: the only other answer allowed here.
      // Batches stored in one group commit are answered together, so their answers may reach
      // this front in any order: the order of storing is read from the hub below.
      if (upstream.status === 200) acked.push(...batch.items.map((i) => i.seq));
      else gaps.push(`${upstream.status} ${(JSON.parse(answer) as { code: string }).code}`);
      res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(answer);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => proxy.close(() => r())));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const counter = new Counter({ dataDir: join(dir, 'counter'), hubUrl: proxyUrl, config: fastConfig() });
    cleanups.push(() => counter.close());
    rate(counter, 20);
    counter.start();
    await until(() => counter.store.queueStats().queue_depth === 0);
    expect(refused).toBeGreaterThan(0);
    const oneToTwenty = Array.from({ length: 20 }, (_, i) => i + 1);
    expect([...acked].sort((a, b) => a - b)).toEqual(oneToTwenty);
    // Stored once each, in seq order (the export reads in storage order).
    const { records } = await hubExport(join(dir, 'hub'));
    expect(records.map((r) => r.seq)).toEqual(oneToTwenty);
    expect(gaps.every((g) => g === '409 SEQ_GAP')).toBe(true);
    expect(await hubTotal(hub.url)).toBe(20);
  });
});
