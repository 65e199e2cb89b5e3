import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BridgeClient } from '../e2e/counter-process.ts';

const BIN = fileURLToPath(new URL('../../bin/haocha.mjs', import.meta.url));

let dir: string;
let child: ChildProcess | null;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-winapi-cli-'));
  child = null;
});
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const c = child;
    await new Promise<void>((r) => {
      c.once('exit', () => r());
      c.kill('SIGKILL');
    });
  }
  rmSync(dir, { recursive: true, force: true });
});

function startCounter(args: string[]): Promise<{ ui: string; api: string | null }> {
  const c = spawn(process.execPath, [BIN, 'counter', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child = c;
  let err = '';
  c.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const lines = createInterface({ input: c.stdout as NodeJS.ReadableStream });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready: ${err}`)), 20_000);
    c.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code}: ${err}`));
    });
    lines.on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { ready?: boolean; ui: string; api: string | null };
        if (msg.ready) {
          clearTimeout(timer);
          c.removeAllListeners('exit');
          resolve(msg);
        }
      } catch {
        // other output
      }
    });
  });
}

describe('haocha counter --api-port', () => {
  it('is off by default', async () => {
    const ready = await startCounter([
      '--data',
      dir,
      '--hub',
      'http://127.0.0.1:9',
      '--pad',
      'sim',
      '--headless',
    ]);
    expect(ready.api).toBeNull();
  }, 30_000);

  it('serves the window API on loopback with the token from the data dir', async () => {
    const ready = await startCounter([
      '--data',
      dir,
      '--hub',
      'http://127.0.0.1:9',
      '--pad',
      'sim',
      '--headless',
      '--ui-port',
      '0',
      '--api-port',
      '0',
    ]);
    expect(ready.api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const tokenFile = join(dir, 'window-api.token');
    if (process.platform !== 'win32') expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const token = (await readFile(tokenFile, 'utf8')).trim();
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const opened = await fetch(`${ready.api}/api/v1/case`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        case_no: 'CLI-1',
        item_code: 'X1',
        item_name: '测试事项',
        applicant_type: 'company',
        anonymous_allowed: false,
      }),
    });
    expect(opened.status).toBe(201);
    const staff = await BridgeClient.connect(ready.ui);
    try {
      const submitted = await staff.call('rating.submit', { level: 3 });
      expect(submitted.ok).toBe(true);
      const state = await fetch(`${ready.api}/api/v1/case/CLI-1/rating`, { headers: auth });
      expect(await state.json()).toMatchObject({ status: 'rated', receipt: expect.any(String) });
    } finally {
      staff.close();
    }
    const c = child as ChildProcess;
    const code = await new Promise<number | null>((r) => {
      c.once('exit', (n) => r(n));
      c.kill('SIGTERM');
    });
    expect(code).toBe(0);
  }, 30_000);

  it('refuses --api-webhook without --api-port as bad usage', () => {
    const r = spawnSync(
      process.execPath,
      [
        BIN,
        'counter',
        '--data',
        dir,
        '--hub',
        'http://127.0.0.1:9',
        '--pad',
        'sim',
        '--api-webhook',
        'http://x/',
      ],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--api-webhook needs --api-port/);
  });
});
