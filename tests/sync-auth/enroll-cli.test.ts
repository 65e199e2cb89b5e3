import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHub } from '../../hub/server.ts';
import { defaultCounterConfig } from '../../src-main/core/config.ts';
import { Counter } from '../../src-main/core/counter.ts';

const BIN = fileURLToPath(new URL('../../bin/haocha.mjs', import.meta.url));

/** Runs the CLI without blocking the event loop (the hub under test lives in this process). */
function haocha(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-enroll-cli-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('haocha hub token / haocha enroll / haocha hub revoke', () => {
  it('a terminal enrolled with a token uploads signed ratings; revoked, it stops and keeps them', async () => {
    const hubDir = join(dir, 'hub');
    const ctrDir = join(dir, 'counter');
    const hub = await startHub({ dataDir: hubDir, port: 0, logger: false, requireSignatures: true });
    let counter: Counter | null = null;
    try {
      const made = await haocha(
        'hub',
        'token',
        '--data',
        hubDir,
        '--hall',
        'DIV9-T12',
        '--window',
        'W02',
        '--hub',
        hub.url,
      );
      expect(made.status).toBe(0);
      const token = /\n {2}([A-Za-z0-9_-]{32})\n/.exec(made.stdout)?.[1];
      expect(token).toBeDefined();
      expect(made.stdout).toContain('haocha enroll');

      const enrolled = await haocha('enroll', '--data', ctrDir, '--hub', hub.url, '--token', token as string);
      expect(enrolled.stderr).toBe('');
      expect(enrolled.status).toBe(0);
      expect(enrolled.stdout).toMatch(/enrolled ctr-.* as DIV9-T12 \/ W02/);
      const again = await haocha(
        'enroll',
        '--data',
        join(dir, 'other'),
        '--hub',
        hub.url,
        '--token',
        token as string,
      );
      expect(again.status).toBe(1);
      expect(again.stderr).toMatch(/ENROLLMENT_TOKEN_INVALID/);

      const config = {
        ...defaultCounterConfig(),
        sync: { interval_ms: 50, batch_size: 50, backoff_min_ms: 20, backoff_max_ms: 200 },
      };
      counter = new Counter({ dataDir: ctrDir, hubUrl: hub.url, config });
      const c = counter;
      c.start();
      c.openRating(null);
      c.submitScreenRating({ level: 5 });
      await until(() => c.sync.view().queue_depth === 0 && c.sync.view().hub === 'ok');

      const revoked = await haocha(
        'hub',
        'revoke',
        '--data',
        hubDir,
        '--device',
        c.store.deviceId,
        '--reason',
        '终端送修',
      );
      expect(revoked.status).toBe(0);
      await new Promise((r) => setTimeout(r, 5_100)); // thanks screen over
      c.openRating(null);
      c.submitScreenRating({ level: 4 });
      await until(() => c.sync.view().hub === 'revoked');
      expect(c.sync.view()).toMatchObject({
        queue_depth: 1,
        last_error: expect.stringMatching(/DEVICE_REVOKED.*终端送修/),
      });
    } finally {
      await counter?.close();
      await hub.close();
    }
  }, 60_000);

  it('an unenrolled counter is refused by a hub that requires signatures, and keeps its queue', async () => {
    const hub = await startHub({
      dataDir: join(dir, 'hub'),
      port: 0,
      logger: false,
      requireSignatures: true,
    });
    const config = {
      ...defaultCounterConfig(),
      sync: { interval_ms: 50, batch_size: 50, backoff_min_ms: 20, backoff_max_ms: 200 },
    };
    const c = new Counter({ dataDir: join(dir, 'counter'), hubUrl: hub.url, config });
    try {
      c.start();
      c.openRating(null);
      c.submitScreenRating({ level: 5 });
      await until(() => c.sync.view().hub === 'rejected');
      expect(c.sync.view()).toMatchObject({ queue_depth: 1, last_error: expect.stringMatching(/UNSIGNED/) });
    } finally {
      await c.close();
      await hub.close();
    }
    // A real hub and counter on loopback, as the test above: under CI load (browsers and other
    // end-to-end suites beside it) start-up alone has taken most of the default 30 s.
  }, 60_000);
});
