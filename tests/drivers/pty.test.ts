/**
 * The pad bridge on real ptys: socat pair, simulated pad on one end (over node-serialport),
 * HostLink over SerialTransport on the other. Real time, real kernel tty layer.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Key, KeyStatusCode } from '../../drivers/evp1/frames.ts';
import { HostLink, type KeyPress } from '../../drivers/evp1/host-link.ts';
import { type PtyPad, runPadSim, startPtyPad } from '../../drivers/sim/pty-pad.ts';
import { SerialTransport } from '../../drivers/transports/serial.ts';
import { createPtyPair, type PtyPair, socatPath } from '../helpers/pty.ts';

// `npm test` installs socat first (scripts/prereqs.mjs): a missing socat is a failure, never a skip.
if (socatPath() === null)
  throw new Error('socat is not installed: run scripts/prereqs.mjs or apt-get install -y socat');

function waitFor(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (cond()) resolve();
      else if (Date.now() - start > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(check, 10);
    };
    check();
  });
}

function recordingHandler(statusFor: (p: KeyPress) => KeyStatusCode, delayMs = 0) {
  const calls: KeyPress[] = [];
  const committed = new Map<string, KeyStatusCode>();
  const onKey = async (p: KeyPress): Promise<KeyStatusCode> => {
    calls.push(p);
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    const id = `${p.bootId}:${p.pressId}`;
    const prior = committed.get(id);
    if (prior !== undefined) return prior;
    const s = statusFor(p);
    committed.set(id, s);
    return s;
  };
  return { calls, committed, onKey };
}

async function openHost(path: string, onKey: (p: KeyPress) => Promise<KeyStatusCode>): Promise<HostLink> {
  const link = new HostLink({ transport: new SerialTransport({ path }), onKey });
  await link.open();
  try {
    await waitFor(() => link.state === 'up', 5000, 'host link up');
  } catch (err) {
    await link.close();
    throw err;
  }
  return link;
}

describe('pad bridge over a socat pty pair', () => {
  let dir: string;
  let pair: PtyPair;
  let pad: PtyPad;
  let host: HostLink | null = null;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'haocha-pty-'));
    pair = await createPtyPair(dir);
    pad = await startPtyPad({ path: pair.padPath, seed: 11, reconnectMinMs: 50, reconnectMaxMs: 500 });
    await waitFor(() => pad.transport.connected, 5000, 'pad port open');
  });

  afterEach(async () => {
    await host?.close();
    host = null;
  });

  afterAll(async () => {
    await pad?.stop();
    await pair?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('20 presses: each ACKed with the handler status; handler called exactly once per press', async () => {
    const h = recordingHandler((p) => ((p.pressId * 7) % 3) as KeyStatusCode);
    host = await openHost(pair.hostPath, h.onKey);
    expect(host.device?.bootId).toBe(pad.sim.bootId);
    const results = [];
    for (let i = 0; i < 20; i++) results.push(await pad.sim.press(((i % 5) + 1) as Key));
    const ids = results.map((r) => r.pressId);
    expect(new Set(ids).size).toBe(20);
    for (const r of results) expect(r.status).toBe(h.committed.get(`${pad.sim.bootId}:${r.pressId}`));
    expect(h.calls).toHaveLength(20);
    expect(h.calls.map((c) => c.pressId)).toEqual(ids);
    expect(host.counters.badCrc).toBe(0);
  }, 30_000);

  it('host closes; a new HostLink (restarted counter) on the same path works', async () => {
    const h1 = recordingHandler(() => 0);
    host = await openHost(pair.hostPath, h1.onKey);
    await pad.sim.press(1);
    await host.close();
    const h2 = recordingHandler(() => 1);
    host = await openHost(pair.hostPath, h2.onKey);
    const r = await pad.sim.press(2);
    expect(r.status).toBe(1);
    expect(h1.calls).toHaveLength(1);
    expect(h2.calls).toHaveLength(1);
  }, 30_000);

  it('slow handler (350 ms): the pad retransmits, the handler runs once, one ACK status', async () => {
    const h = recordingHandler(() => 0, 350);
    host = await openHost(pair.hostPath, h.onKey);
    const before = pad.sim.counters.retransmits;
    const r = await pad.sim.press(5);
    expect(r.status).toBe(0);
    expect(h.calls).toHaveLength(1);
    expect(pad.sim.counters.retransmits).toBeGreaterThan(before);
    expect(host.counters.repeats).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('host process SIGKILLed: socat and the pad keep running; a new host opens the same path', async () => {
    const child: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./sim/host-child.ts', import.meta.url)), pair.hostPath],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    try {
      await waitFor(() => out.includes('UP '), 15_000, 'child host up');
      const r = await pad.sim.press(3);
      expect(r.status).toBe(0);
      expect(out).toContain(`KEY ${pad.sim.bootId} ${r.pressId} 3`);
    } finally {
      child.kill('SIGKILL');
      await new Promise((res) => child.once('exit', res));
    }
    const socatPid = pair.pid;
    expect(socatPid).toBeDefined();
    expect(() => process.kill(socatPid as number, 0)).not.toThrow();
    expect(pad.transport.connected).toBe(true);

    const h = recordingHandler(() => 0);
    host = await openHost(pair.hostPath, h.onKey);
    const r2 = await pad.sim.press(4);
    expect(r2.status).toBe(0);
    expect(h.calls.map((c) => c.key)).toEqual([4]);
  }, 40_000);

  it('socat restarted (pair recreated at the same paths): the pad reopens its end and presses work again', async () => {
    const events: string[] = [];
    const t0 = Date.now();
    pad.transport.on('connection', (up) => events.push(`${Date.now() - t0}ms ${up ? 'up' : 'down'}`));
    await pair.restart();
    events.push(`${Date.now() - t0}ms restarted`);
    // The pad notices the old pair's death (a read error) and then reopens the new one.
    await waitFor(() => events.some((e) => e.endsWith('up')), 5000, 'pad port reopened').catch((e) => {
      throw new Error(`${e.message}: ${events.join(', ')}`);
    });
    const h = recordingHandler(() => 0);
    host = await openHost(pair.hostPath, h.onKey).catch((e) => {
      throw new Error(`${e.message}: ${events.join(', ')}`);
    });
    const r = await pad.sim.press(1);
    expect(r.status).toBe(0);
    expect(h.calls).toHaveLength(1);
  }, 30_000);
});

describe('runPadSim (what `haocha pad-sim` runs)', () => {
  let dir: string;
  let pair: PtyPair;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'haocha-padsim-'));
    pair = await createPtyPair(dir);
  });

  afterAll(async () => {
    await pair?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes N scripted presses of random keys, spaced by intervalMs, and logs them', async () => {
    const h = recordingHandler(() => 0);
    const lines: string[] = [];
    const notATty = Object.assign(new EventEmitter(), { isTTY: false }) as unknown as NodeJS.ReadStream;
    const run = await runPadSim({
      link: pair.padPath,
      presses: 3,
      intervalMs: 50,
      log: (l) => lines.push(l),
      seed: 5,
      stdin: notATty,
    });
    const host = await openHost(pair.hostPath, h.onKey);
    try {
      const results = await run.done;
      expect(results.map((r) => r.pressId)).toEqual([1, 2, 3]);
      expect(h.calls).toHaveLength(3);
      expect(lines.filter((l) => l.includes('ACK status 0'))).toHaveLength(3);
    } finally {
      await host.close();
      await run.stop();
    }
    await run.stopped;
  }, 30_000);

  it('reads keys 1-5 from a TTY stdin as presses; q stops', async () => {
    const h = recordingHandler(() => 0);
    const lines: string[] = [];
    const rawModes: boolean[] = [];
    const tty = Object.assign(new EventEmitter(), {
      isTTY: true,
      setRawMode: (on: boolean) => rawModes.push(on),
      resume: () => {},
      pause: () => {},
    }) as unknown as NodeJS.ReadStream;
    const run = await runPadSim({ link: pair.padPath, log: (l) => lines.push(l), seed: 6, stdin: tty });
    const host = await openHost(pair.hostPath, h.onKey);
    try {
      tty.emit('data', Buffer.from('4x2'));
      await waitFor(() => h.calls.length === 2, 5000, 'two presses');
      expect(h.calls.map((c) => c.key).sort()).toEqual([2, 4]);
      tty.emit('data', Buffer.from('q'));
      await run.stopped;
      expect(rawModes).toEqual([true, false]);
    } finally {
      await host.close();
      await run.stop();
    }
  }, 30_000);
});
