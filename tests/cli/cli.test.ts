/** The `haocha` command as IT staff and scripts use it: real processes, exit codes, output shapes. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultCounterConfig } from '../../src-main/core/config.ts';
import { Counter } from '../../src-main/core/counter.ts';
import { MIGRATIONS } from '../../src-main/core/store/migrations.ts';
import { batchOf, makeStream } from '../hub/records.ts';

const BIN = fileURLToPath(new URL('../../bin/haocha.mjs', import.meta.url));
const haocha = (...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-cli-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('haocha', () => {
  it('prints usage and exits 2 without a command, 0 with --help, 2 on an unknown command or flag', () => {
    expect(haocha().status).toBe(2);
    const help = haocha('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/haocha <command>/);
    expect(haocha('counter', '--help').stdout).toMatch(/--pad PATH\|sim/);
    const unknown = haocha('frobnicate');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
    const badFlag = haocha('status', '--data', dir, '--colour');
    expect(badFlag.status).toBe(2);
    expect(badFlag.stderr).toMatch(/--colour/);
    expect(haocha('counter', '--data', dir, '--hub', 'ftp://x', '--pad', 'sim').status).toBe(2);
    expect(haocha('hub', '--port', '99999', '--data', dir).status).toBe(2);
    const loud = haocha('hub', '--data', dir, '--log-level', 'loud');
    expect(loud.status).toBe(2);
    expect(loud.stderr).toMatch(/--log-level must be one of fatal, error, warn, info, debug, got loud/);
  });

  it('status reports the queue, last acked seq and store as JSON, and exits 1 when there is no store', async () => {
    const missing = haocha('status', '--data', join(dir, 'nothing'));
    expect(missing.status).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({ store: { ok: false }, running: false });

    const offline: typeof fetch = async () => {
      throw new Error('offline');
    };
    const counter = new Counter({
      dataDir: dir,
      hubUrl: 'http://127.0.0.1:9',
      config: defaultCounterConfig(),
      fetchImpl: offline,
    });
    for (let i = 0; i < 3; i++) {
      counter.openRating(null);
      counter.submitScreenRating({ level: 5, reason_timed_out: true });
    }
    counter.store.markAckedThrough(1);
    counter.start();
    // Read while the counter holds the store open (WAL): status must not need it closed.
    const out = haocha('status', '--data', dir);
    expect(out.status).toBe(0);
    const status = JSON.parse(out.stdout);
    expect(status).toMatchObject({
      device_id: counter.store.deviceId,
      queue_depth: 2,
      last_acked_seq: 1,
      running: true,
      store: { ok: true, schema_version: MIGRATIONS.length, health: 'ok', integrity: 'ok' },
      pad: { link: 'none' },
      session: { state: 'thanks', staff: { staff_no: '090317' } },
      open_case: null,
      alarms: [],
    });
    expect(status.oldest_unsent_age_s).toBeGreaterThanOrEqual(0);
    expect(status.store.size_bytes).toBeGreaterThan(0);
    await counter.close();

    // A store at an older schema (an app updated but not yet started) is named as such, not misread.
    const older = new Database(join(dir, 'counter.db'));
    older.pragma(`user_version = ${MIGRATIONS.length - 1}`);
    older.close();
    const pending = haocha('status', '--data', dir);
    expect(pending.status).toBe(1);
    expect(JSON.parse(pending.stdout).store).toMatchObject({
      ok: false,
      error: `store is at schema ${MIGRATIONS.length - 1}; the counter brings it to ${MIGRATIONS.length} when it next starts`,
    });
  });

  it('hub takes only signed uploads by default; --allow-unsigned accepts unsigned ones with a warning', async () => {
    const upload = async (url: string) => {
      const stream = makeStream({ deviceId: 'ctr-cli-unsigned', count: 1 });
      const res = await fetch(`${url}/api/v1/ingest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(batchOf(stream, 1, 1)),
      });
      return { status: res.status, body: (await res.json()) as { code?: string } };
    };
    const strict = await runHub(join(dir, 'strict'), []);
    try {
      expect(await upload(strict.url)).toMatchObject({ status: 401, body: { code: 'UNSIGNED' } });
      expect(strict.output()).not.toMatch(/warning/);
    } finally {
      await strict.stop();
    }
    const open = await runHub(join(dir, 'open'), ['--allow-unsigned']);
    try {
      expect((await upload(open.url)).status).toBe(200);
      expect(open.output()).toMatch(/warning: --allow-unsigned/);
    } finally {
      await open.stop();
    }
  }, 60_000);

  it('demo runs hub, simulated pad and counter end to end, and Ctrl-C stops it cleanly', async () => {
    const child: ChildProcess = spawn(
      process.execPath,
      [BIN, 'demo', '--data', dir, '--hub-port', '0', '--ui-port', '0', '--no-open', '--auto', '0.3'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const deadline = Date.now() + 30_000;
    while (!/uploaded to the hub: ratings through seq [2-9]/.test(out)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`demo did not upload:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(out).toMatch(/simulated pad on a virtual serial pair/);
    expect(out).toMatch(/accepted: 谢谢您的评价/);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out).toMatch(/stopped/);
  }, 60_000);
});

/** `haocha hub` as a process on a free port; resolves once it prints where it listens. */
async function runHub(dataDir: string, flags: string[]) {
  const child = spawn(process.execPath, [BIN, 'hub', '--data', dataDir, '--port', '0', ...flags], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const deadline = Date.now() + 30_000;
  const listening = () => /hub listening on (\S+)/.exec(out)?.[1];
  while (!listening()) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`hub did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = listening() as string;
  return {
    url,
    output: () => out,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
