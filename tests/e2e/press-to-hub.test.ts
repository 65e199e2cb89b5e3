/**
 * The whole path over real parts: a simulated pad on a real pty pair (socat), the counter as a
 * real process, the hub over HTTP on loopback. The counter is SIGKILLed mid-stream and restarted;
 * every press the pad saw accepted must reach the hub exactly once.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Key } from '../../drivers/evp1/frames.ts';
import { PadSimulator } from '../../drivers/sim/pad-simulator.ts';
import { ReconnectingTransport } from '../../drivers/transports/reconnecting.ts';
import { SerialTransport } from '../../drivers/transports/serial.ts';
import type { Transport, TransportEvents } from '../../drivers/transports/types.ts';
import { buildHub, type Hub } from '../../hub/server.ts';
import { openStoreReadonly } from '../../src-main/core/store/open.ts';
import { HUB_API, type StatsReply } from '../../src-shared/index.ts';
import { createPtyPair, type PtyPair } from '../helpers/pty.ts';
import { BridgeClient, type CounterProcess, kill9, spawnCounter } from './counter-process.ts';

let dir: string;
let pty: PtyPair;
let hub: Hub;
let hubUrl: string;
let pad: { sim: PadSimulator; stop(): Promise<void> };
let cable: CuttableTransport;
let counter: CounterProcess | null = null;
let bridge: BridgeClient | null = null;
let counterArgs: string[];

async function until<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  ms: number,
  what: string,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * The pad's end of the cable with a switch on the counter → pad wire: while cut, nothing the
 * counter sends (its ACKs) reaches the pad, as on a damaged line. Lets a test lose an ACK on purpose.
 */
class CuttableTransport implements Transport {
  cut = false;
  constructor(private readonly inner: Transport) {}
  get description() {
    return `cuttable:${this.inner.description}`;
  }
  get isOpen() {
    return this.inner.isOpen;
  }
  open() {
    return this.inner.open();
  }
  close() {
    return this.inner.close();
  }
  write(bytes: Uint8Array) {
    return this.inner.write(bytes);
  }
  on<K extends keyof TransportEvents>(event: K, listener: TransportEvents[K]): () => void {
    if (event !== 'data') return this.inner.on(event, listener);
    const onData = listener as TransportEvents['data'];
    return this.inner.on('data', (bytes) => {
      if (!this.cut) onData(bytes);
    });
  }
}

function committedPresses(): number {
  const db = openStoreReadonly(join(dir, 'counter', 'counter.db'));
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM pad_presses').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

async function startCounter(): Promise<void> {
  counter = await spawnCounter(counterArgs);
  bridge = await BridgeClient.connect(counter.ui);
}

async function hubTotal(): Promise<number> {
  const res = await fetch(`${hubUrl}${HUB_API}/stats`);
  return ((await res.json()) as StatsReply).totals.total;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-e2e-'));
  pty = await createPtyPair(dir);
  hub = await buildHub({ dataDir: join(dir, 'hub') });
  await hub.app.listen({ port: 0, host: '127.0.0.1' });
  hubUrl = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
  const config = join(dir, 'counter.json');
  writeFileSync(
    config,
    JSON.stringify({ sync: { interval_ms: 100, batch_size: 25, backoff_min_ms: 50, backoff_max_ms: 500 } }),
  );
  counterArgs = [
    '--data',
    join(dir, 'counter'),
    '--hub',
    hubUrl,
    '--pad',
    pty.hostPath,
    '--headless',
    '--ui-port',
    '0',
    '--config',
    config,
  ];
  cable = new CuttableTransport(
    new ReconnectingTransport({ create: () => new SerialTransport({ path: pty.padPath }), minDelayMs: 50 }),
  );
  const sim = new PadSimulator({ transport: cable, seed: 20261126 });
  await sim.start();
  pad = { sim, stop: () => sim.stop() };
  await startCounter();
}, 60_000);

afterAll(async () => {
  bridge?.close();
  if (counter) await kill9(counter);
  await pad?.stop();
  await pty?.close();
  await hub?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('pad press → counter → hub', () => {
  it('100 presses with the counter SIGKILLed three times: exactly 100 ratings at the hub, none lost, none doubled', async () => {
    const accepted: { pressId: number; key: number }[] = [];
    let notRatings = 0;
    let kills = 0;
    // Kill between presses; at a random moment while a press is in flight; and, deterministically,
    // after a press was committed but before its ACK reached the pad (the ACK lost on the line).
    const killPoints = new Map<number, 'idle' | 'mid-press' | 'after-commit'>([
      [25, 'idle'],
      [50, 'mid-press'],
      [75, 'after-commit'],
    ]);
    while (accepted.length < 100) {
      const plan = killPoints.get(accepted.length);
      if (plan === 'idle' && counter) {
        killPoints.delete(accepted.length);
        bridge?.close();
        await kill9(counter);
        kills++;
        await startCounter();
      }
      const opened = await until(
        async () => {
          const r = await bridge?.call('rating.open', { case_ref: `C-${accepted.length + 1}` });
          return r?.ok ? r : undefined;
        },
        20_000,
        'rating.open',
      );
      expect(opened.ok).toBe(true);
      const key = (1 + (accepted.length % 5)) as Key;
      const before = plan === 'after-commit' ? committedPresses() : 0;
      if (plan === 'after-commit') cable.cut = true;
      const pressing = pad.sim.press(key);
      if (plan === 'after-commit' && counter) {
        killPoints.delete(accepted.length);
        await until(
          () => (committedPresses() > before ? true : undefined),
          10_000,
          'the press to be committed',
        );
        const dying = counter;
        counter = null;
        bridge?.close();
        await kill9(dying);
        kills++;
        cable.cut = false;
        await startCounter();
      }
      if (plan === 'mid-press' && counter) {
        killPoints.delete(accepted.length);
        // Somewhere between the KEY on the wire and its ACK (or just after).
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 15)));
        const dying = counter;
        counter = null;
        bridge?.close();
        await kill9(dying);
        kills++;
        await startCounter();
      }
      const result = await pressing;
      if (result.status === 0) accepted.push({ pressId: result.pressId, key });
      else notRatings++;
    }
    await until(async () => ((await hubTotal()) >= 100 ? true : undefined), 20_000, 'hub to receive 100');
    // Give a doubled upload every chance to show itself before counting.
    const status = await until(
      async () => {
        const r = await bridge?.call('status.get');
        const v = r?.ok ? (r.value as { sync: { queue_depth: number } }) : undefined;
        return v && v.sync.queue_depth === 0 ? v : undefined;
      },
      10_000,
      'queue to drain',
    );
    expect(status.sync.queue_depth).toBe(0);
    expect(await hubTotal()).toBe(100);

    const page = await hub.store.listRatings({ limit: 1000 });
    const rows = page.ratings;
    expect(rows).toHaveLength(100);
    const fromPad = rows.map((r) => `${r.pad?.boot_id}/${r.pad?.press_id}`);
    expect(new Set(fromPad).size).toBe(100);
    const expected = accepted.map((a) => `${pad.sim.bootId}/${a.pressId}`).sort();
    expect([...fromPad].sort()).toEqual(expected);
    // Every key became the level the standard profile says (key 1 = 5 非常满意).
    const byPress = new Map(accepted.map((a) => [a.pressId, a.key]));
    for (const r of rows) expect(r.level).toBe(6 - (byPress.get(r.pad?.press_id ?? -1) ?? 0));
    expect(kills).toBe(3);
    // Presses that reached a counter with no rating open (after a restart) were recorded, not rated.
    expect(notRatings).toBeLessThan(10);
  }, 180_000);

  it('garbage on the serial line is dropped and counted, and the counter keeps rating', async () => {
    // Write noise into the pad's end of the cable, as a bad cable or a wrong device would.
    const fd = openSync(pty.padPath, 'w');
    const noise = Buffer.alloc(4096);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919 + 13) & 0xff;
    noise[100] = 0xa5;
    noise[101] = 0x5a; // a false start of frame inside the noise
    writeSync(fd, noise);
    closeSync(fd);
    const before = await hubTotal();
    const opened = await bridge?.call('rating.open', { case_ref: null });
    expect(opened?.ok).toBe(true);
    const r = await pad.sim.press(2);
    expect(r.status).toBe(0);
    const status = await until(
      async () => {
        const s = await bridge?.call('status.get');
        // The noise is counted (resyncs, dropped bytes, bad CRCs) once the counters are next published.
        const v = s?.ok
          ? (s.value as { pad: { link: string; bad_crc: number; resyncs: number; dropped_bytes: number } })
          : undefined;
        return v && v.pad.link === 'up' && v.pad.dropped_bytes > 0 ? v : undefined;
      },
      10_000,
      'the noise to be counted',
    );
    expect(status.pad.link).toBe('up');
    expect(status.pad.dropped_bytes + status.pad.resyncs + status.pad.bad_crc).toBeGreaterThan(0);
    expect(counter?.child.exitCode).toBeNull();
    await until(
      async () => ((await hubTotal()) === before + 1 ? true : undefined),
      10_000,
      'the rating at the hub',
    );
  }, 60_000);
});
