import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultCounterConfig } from '../../src-main/core/config.ts';
import { ConfigSync } from '../../src-main/core/config-sync.ts';

/**
 * A poor regiment link drops in the middle of the hub's answer to a config pull. The pull is a
 * failed one, retried later; it must never become a rejection nobody handles (pulls run from
 * timers and heartbeat hints, and in the counter's process an unhandled rejection ends it).
 */
let server: Server | undefined;
let dir: string | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('config pull over a link that drops mid-answer', () => {
  it('reports a failed pull and keeps the config in force', async () => {
    // Headers and half a body, then the connection is cut.
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"seq":1,"version":"v1","con');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    dir = mkdtempSync(join(tmpdir(), 'haocha-cutoff-'));
    const base = defaultCounterConfig();
    const sync = new ConfigSync({
      dataDir: dir,
      hubUrl: `http://127.0.0.1:${port}`,
      signer: null,
      enrollment: null,
      base: { ...base, config_sync: { ...base.config_sync, allow_unverified: true } },
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const result = await sync.pull();
      expect(result).toMatchObject({ kind: 'failed' });
      expect((result as { reason: string }).reason).toMatch(/cut off/);
      expect(sync.view().last_error?.reason).toMatch(/cut off/);
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      sync.stop();
    }
  });
});
