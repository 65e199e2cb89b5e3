import { rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildHub } from '../../hub/server.ts';
import { makeTempDir } from './harness.ts';
import { batchOf, makeStream } from './records.ts';

describe('hub shutdown', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('closes as soon as the upload it is storing is answered, not after the keep-alive time', async () => {
    dir = await makeTempDir();
    const hub = await buildHub({ dataDir: dir });
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = hub.app.server.address() as AddressInfo;
    // A slow disk: the store takes 300 ms over this upload, and the hub is told to stop meanwhile.
    const ingest = hub.store.ingest.bind(hub.store);
    hub.store.ingest = async (...args) => {
      await new Promise((r) => setTimeout(r, 300));
      return ingest(...args);
    };
    const upload = fetch(`http://127.0.0.1:${port}/api/v1/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(batchOf(makeStream({ count: 3 }), 1, 3)),
    });
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    const closed = hub.close().then(() => Date.now() - started);
    const res = await upload;
    // The upload in hand is still answered (stored), and its connection ends with it.
    expect(res.status).toBe(200);
    expect(res.headers.get('connection')).toBe('close');
    // Without that, close() waited for the connection's keep-alive timeout (72 s).
    const outcome = await Promise.race([
      closed,
      new Promise((r) => setTimeout(() => r('still open'), 10_000)),
    ]);
    expect(outcome).toBeTypeOf('number');
  });
});
