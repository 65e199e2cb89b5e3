import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startHub } from '../../hub/server.ts';
import { hubErrorSchema, ingestReplySchema, statsReplySchema } from '../../src-shared/index.ts';
import { makeTempDir } from './harness.ts';
import { batchOf, makeStream } from './records.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function start(dataDir: string) {
  const hub = await startHub({ dataDir, port: 0, logger: false });
  let closed = false;
  const close = async () => {
    if (!closed) await hub.close();
    closed = true;
  };
  cleanups.push(close);
  return { url: hub.url, close };
}

function post(url: string, body: unknown) {
  return fetch(`${url}/api/v1/ingest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('hub over real HTTP on loopback', () => {
  it('listens on a free port, ingests, answers stats, health and the page, and keeps data across a restart', async () => {
    const dataDir = await makeTempDir();
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const today = new Date().toISOString();
    const stream = makeStream({ count: 12, ratedAt: () => today });

    const first = await start(dataDir);
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.url).not.toMatch(/:0$/);

    const res = await post(first.url, batchOf(stream, 1, 8));
    expect(res.status).toBe(200);
    expect(ingestReplySchema.parse(await res.json()).ack_through_seq).toBe(8);

    const gap = await post(first.url, batchOf(stream, 10, 12));
    expect(gap.status).toBe(409);
    expect(hubErrorSchema.parse(await gap.json())).toMatchObject({ code: 'SEQ_GAP', cursor: 8 });

    const health = await fetch(`${first.url}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
    const page = await fetch(`${first.url}/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('id="t-total">8<');
    await first.close();

    // Same data directory, new process state: the cursor and the counts are still there.
    const second = await start(dataDir);
    const resumed = await post(second.url, batchOf(stream, 5, 12));
    expect(resumed.status).toBe(200);
    const reply = ingestReplySchema.parse(await resumed.json());
    expect(reply.items.filter((i) => i.status === 'duplicate').map((i) => i.seq)).toEqual([5, 6, 7, 8]);
    expect(reply.ack_through_seq).toBe(12);
    const stats = statsReplySchema.parse(await (await fetch(`${second.url}/api/v1/stats`)).json());
    expect(stats.totals.total).toBe(12);
  });
});
