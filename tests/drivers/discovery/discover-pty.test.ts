/**
 * Discovery over real pty pairs (socat): an EVP/1 simulator on one, a KEYLINE pad being pressed on
 * another, a silent port, a port spewing garbage, a port held by another process, a port with no
 * USB fingerprint. The lister is injected, since ptys have no USB descriptors: it gives each host
 * end the VID/PID/serial a real adapter would report.
 */

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverPads, formatReport } from '../../../drivers/discovery/discover.ts';
import type { PortInfo } from '../../../drivers/profiles.ts';
import { KeylinePadSimulator } from '../../../drivers/sim/keyline-pad.ts';
import { type PtyPad, startPtyPad } from '../../../drivers/sim/pty-pad.ts';
import { SerialTransport } from '../../../drivers/transports/serial.ts';
import { createPtyPair, type PtyPair, socatPath } from '../../helpers/pty.ts';

if (socatPath() === null)
  throw new Error('socat is not installed: run scripts/prereqs.mjs or apt-get install -y socat');

const CH340 = { vendorId: '1a86', productId: '7523' };
const CP210X = { vendorId: '10c4', productId: 'ea60' };
const FTDI = { vendorId: '0403', productId: '6001' };

let dir: string;
const pairs: Record<string, PtyPair> = {};
const pads: PtyPad[] = [];
let keyline: KeylinePadSimulator;
let keylineTimer: NodeJS.Timeout;
let garbage: SerialTransport;
let garbageTimer: NodeJS.Timeout;
let holder: SerialTransport;

async function pair(name: string): Promise<PtyPair> {
  const d = join(dir, name);
  mkdirSync(d);
  const p = await createPtyPair(d);
  pairs[name] = p;
  return p;
}

/** Every probed port must be free again: a locked open succeeds. */
async function expectReleased(path: string): Promise<void> {
  const t = new SerialTransport({ path, lock: true });
  await t.open();
  await t.close();
}

const fast = { helloTimeoutMs: 1000, keylineListenMs: 700 };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-discover-'));
  for (const name of ['evp', 'keyline', 'silent', 'garbage', 'busy', 'moved']) await pair(name);
  pads.push(
    await startPtyPad({ path: (pairs.evp as PtyPair).padPath, serial: 'PAD-A', model: 'EVP-5', seed: 1 }),
  );
  keyline = new KeylinePadSimulator(new SerialTransport({ path: (pairs.keyline as PtyPair).padPath }));
  await keyline.start();
  // A KEYLINE pad talks only when pressed: somebody keeps pressing key 3 while discovery listens.
  keylineTimer = setInterval(() => void keyline.press(3).catch(() => {}), 150);
  garbage = new SerialTransport({ path: (pairs.garbage as PtyPair).padPath });
  await garbage.open();
  // High bytes only: no LF (no key line) and no A5 5A (no frame start), so nothing decodes.
  garbageTimer = setInterval(() => {
    const b = new Uint8Array(64).map(() => 0x80 + Math.floor(Math.random() * 0x25));
    void garbage.write(b).catch(() => {});
  }, 50);
  holder = new SerialTransport({ path: (pairs.busy as PtyPair).hostPath, lock: true });
  await holder.open();
}, 20_000);

afterAll(async () => {
  clearInterval(keylineTimer);
  clearInterval(garbageTimer);
  await holder?.close();
  await garbage?.close();
  await keyline?.stop();
  for (const p of pads) await p.stop();
  for (const p of Object.values(pairs)) await p.close();
  rmSync(dir, { recursive: true, force: true });
});

function listing(): PortInfo[] {
  const p = pairs as Record<string, PtyPair>;
  return [
    { path: '/dev/ttyS-no-such-port' },
    { path: p.silent?.hostPath as string, ...CH340 },
    { path: p.garbage?.hostPath as string, ...FTDI, serialNumber: 'FT-9' },
    { path: p.busy?.hostPath as string, ...CP210X, serialNumber: 'CP-BUSY' },
    { path: p.keyline?.hostPath as string, ...CH340 },
    { path: p.evp?.hostPath as string, ...CP210X, serialNumber: 'CP-1' },
  ];
}

describe('discoverPads over ptys', () => {
  it('finds the EVP/1 and the KEYLINE pad, says why every other port was rejected, and releases them all', async () => {
    const p = pairs as Record<string, PtyPair>;
    const report = await discoverPads({ list: async () => listing(), ...fast });
    const byPath = Object.fromEntries(report.found.map((f) => [f.path, f]));
    expect(byPath[p.evp?.hostPath as string]).toMatchObject({
      codec: 'evp1',
      profile: 'evp1',
      model: 'EVP-5',
      firmware: '1.0.0-sim',
      padSerial: 'PAD-A',
      usbSerial: 'CP-1',
      chip: 'CP210x',
      identity: 'pad-serial',
    });
    expect(byPath[p.keyline?.hostPath as string]).toMatchObject({
      codec: 'keyline',
      profile: 'keyline',
      padSerial: null,
      usbSerial: null,
      identity: null,
    });
    const why = Object.fromEntries(report.rejected.map((r) => [r.path, r]));
    expect(why['/dev/ttyS-no-such-port']?.reason).toBe('no_fingerprint');
    expect(why[p.silent?.hostPath as string]?.reason).toBe('no_answer');
    expect(why[p.garbage?.hostPath as string]?.reason).toBe('garbage');
    expect(why[p.busy?.hostPath as string]).toMatchObject({ reason: 'busy', errno: 'EAGAIN' });
    // Two pads and no serial wanted: no guess.
    expect(report.chosen).toBeNull();
    expect(report.decision).toMatch(/refusing to guess: 2 pads/);
    expect(report.notes.join('\n')).toMatch(/cannot be told apart/);
    const text = formatReport(report);
    expect(text).toContain('PAD-A');
    expect(text).toContain('no_answer');
    for (const path of [p.evp, p.keyline, p.silent, p.garbage].map((x) => x?.hostPath as string))
      await expectReleased(path);
  }, 20_000);

  it('picks the pad by its HELLO serial', async () => {
    const report = await discoverPads({ list: async () => listing(), wantedSerial: 'PAD-A', ...fast });
    expect(report.chosen?.path).toBe(pairs.evp?.hostPath);
    expect(report.decision).toMatch(/HELLO serial is PAD-A/);
  }, 20_000);

  it('a pad that moved to another path (COM/tty renumbering) is found by its serial', async () => {
    const p = pairs as Record<string, PtyPair>;
    // The pad PAD-A is now on "moved"; another pad (PAD-B) sits where PAD-A used to be.
    const old = pads.shift() as PtyPad;
    await old.stop();
    pads.push(await startPtyPad({ path: p.moved?.padPath as string, serial: 'PAD-A', seed: 2 }));
    pads.push(await startPtyPad({ path: p.evp?.padPath as string, serial: 'PAD-B', seed: 3 }));
    const list = async (): Promise<PortInfo[]> => [
      { path: p.evp?.hostPath as string, ...CH340 },
      { path: p.moved?.hostPath as string, ...CH340 },
    ];
    const report = await discoverPads({ list, wantedSerial: 'PAD-A', ...fast });
    expect(report.found.map((f) => f.padSerial).sort()).toEqual(['PAD-A', 'PAD-B']);
    expect(report.chosen?.path).toBe(p.moved?.hostPath);
    const none = await discoverPads({ list, wantedSerial: 'PAD-C', ...fast });
    expect(none.chosen).toBeNull();
    expect(none.decision).toMatch(/no pad with serial PAD-C/);
  }, 20_000);

  it('a single KEYLINE pad on a CH340 is chosen by the single-candidate rule, with a note', async () => {
    const p = pairs as Record<string, PtyPair>;
    const list = async (): Promise<PortInfo[]> => [
      { path: p.keyline?.hostPath as string, ...CH340 },
      { path: p.silent?.hostPath as string, ...CH340 },
    ];
    const report = await discoverPads({ list, wantedSerial: 'KL-1', ...fast });
    expect(report.chosen?.path).toBe(p.keyline?.hostPath);
    expect(report.notes.join('\n')).toMatch(/cannot be checked/);
  }, 20_000);
});
