/** PadSupervisor on a real socat pty pair, real time: the pad comes back ⇒ link up within 1 s. */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyStatusCode } from '../../drivers/evp1/frames.ts';
import type { KeyPress } from '../../drivers/evp1/host-link.ts';
import { type PtyPad, startPtyPad } from '../../drivers/sim/pty-pad.ts';
import { PadSupervisor } from '../../drivers/supervisor.ts';
import { SerialTransport } from '../../drivers/transports/serial.ts';
import { createPtyPair, type PtyPair, socatPath } from '../helpers/pty.ts';

if (socatPath() === null)
  throw new Error('socat is not installed: run scripts/prereqs.mjs or apt-get install -y socat');

function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (cond()) resolve(Date.now() - start);
      else if (Date.now() - start > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(check, 5);
    };
    check();
  });
}

describe('PadSupervisor over a socat pty pair', () => {
  let dir: string;
  let pair: PtyPair;
  let pad: PtyPad;
  let sup: PadSupervisor;
  const rated: KeyPress[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'haocha-sup-'));
    pair = await createPtyPair(dir);
    pad = await startPtyPad({ path: pair.padPath, seed: 21, reconnectMinMs: 50, reconnectMaxMs: 200 });
    sup = new PadSupervisor({
      makeTransport: () => new SerialTransport({ path: pair.hostPath }),
      onKey: async (p): Promise<KeyStatusCode> => {
        rated.push(p);
        return 0;
      },
    });
    sup.start();
    await waitFor(() => sup.state === 'up', 5000, 'supervisor up');
  });

  afterAll(async () => {
    await sup?.stop();
    await pad?.stop();
    await pair?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('socat restarted (pair recreated at the same paths): up again within 1 s, presses work', async () => {
    expect((await pad.sim.press(1)).status).toBe(0);
    const reconnectsBefore = sup.counters.reconnects;
    await pair.restart();
    // The old pair's death reaches the host as a read error first.
    await waitFor(() => sup.state !== 'up', 5000, 'link down');
    const ms = await waitFor(() => sup.state === 'up', 5000, 'link up again');
    expect(ms).toBeLessThan(1000);
    expect(sup.counters.reconnects).toBeGreaterThan(reconnectsBefore);
    expect((await pad.sim.press(2)).status).toBe(0);
    expect(rated.map((p) => p.key)).toEqual([1, 2]);
  }, 30_000);
});
