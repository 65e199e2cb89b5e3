import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { openPostgresHubStore } from '../../hub/store/postgres/store.ts';
import { spawnCliHub } from '../helpers/cli-hub.ts';
import { freshPgUrl, makeTempDir } from './harness.ts';
import { batchOf, makeStream } from './records.ts';

const BIN = fileURLToPath(new URL('../../bin/haocha.mjs', import.meta.url));

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

let server: ChildProcess | undefined;
let dir: string | undefined;
afterEach(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server?.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  server = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** `haocha hub … --port 0` in a child process (stopped after each test); resolves with its URL. */
function startCliHub(...args: string[]): Promise<string> {
  const started = spawnCliHub(...args);
  server = started.child;
  return started.url;
}

describe('haocha hub --db postgres://…', () => {
  it('serves, exports, makes tokens and revokes on PostgreSQL; the data dir keeps no SQLite file', async () => {
    dir = await makeTempDir();
    const db = await freshPgUrl();
    const stream = makeStream({ count: 3 });
    const store = await openPostgresHubStore(db);
    try {
      expect((await store.ingest(batchOf(stream, 1, 3), new Date())).ok).toBe(true);
    } finally {
      await store.close();
    }

    const url = await startCliHub('--data', dir, '--db', db);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${url}/metrics`)).text()).toContain('haocha_hub_ratings 3\n');

    const exported = await haocha('hub', 'export', '--data', dir, '--db', db);
    expect(exported.status).toBe(0);
    expect(
      exported.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).event_id),
    ).toEqual(stream.map((r) => r.event_id));

    const token = await haocha('hub', 'token', '--data', dir, '--db', db, '--hall', 'H1', '--window', 'W01');
    expect(token.status).toBe(0);
    const check = new pg.Client({ connectionString: db });
    await check.connect();
    try {
      const tokens = await check.query('SELECT hall_id, window_id FROM enrollment_tokens');
      expect(tokens.rows).toEqual([{ hall_id: 'H1', window_id: 'W01' }]);
    } finally {
      await check.end();
    }
    const revoke = await haocha(
      'hub',
      'revoke',
      '--data',
      dir,
      '--db',
      db,
      '--device',
      'nobody',
      '--reason',
      'x',
    );
    expect(revoke.status).not.toBe(0);
    expect(revoke.stderr).toContain('no enrolled, unrevoked device nobody');
    expect(existsSync(join(dir, 'hub.db'))).toBe(false);
    // Four CLI processes, each starting tsx: slow on a loaded 2-core machine.
  }, 180_000);

  it('refuses a --db that is not a PostgreSQL URL', async () => {
    dir = await makeTempDir();
    const res = await haocha('hub', 'export', '--data', dir, '--db', 'mysql://x/y');
    expect(res.status).not.toBe(0);
    expect(res.stderr).toContain('postgres://');
  }, 60_000);
});
