/**
 * A misbehaving device on the pad's end of a serial path, run as a child process so that its own
 * work does not count against the event loop being measured (tests/drivers/flood-pty.test.ts):
 *   node --import tsx tests/helpers/bad-pad.ts flood|garbage|silent PATH DURATION_MS [BYTES_PER_S]
 * - flood: writes BYTES_PER_S (default 1 MB/s) of noise, dense in false frame headers;
 * - garbage: answers every chunk the host sends with frames of random TYPE and payload (good
 *   CRC, so they reach the host link's handlers) mixed with noise;
 * - silent: opens the port and says nothing.
 * Prints `ready` once the port is open, then one JSON line with the bytes written when it ends.
 */

import { buildFrame } from '../../drivers/evp1/frames.ts';
import { seededRandom } from '../../drivers/sim/pad-simulator.ts';
import { SerialTransport } from '../../drivers/transports/serial.ts';

const [mode = 'flood', path = '', durationArg = '5000', rateArg = '1048576'] = process.argv.slice(2);
const durationMs = Number(durationArg);
const bytesPerS = Number(rateArg);
const rnd = seededRandom(4242);
const int = (n: number) => Math.floor(rnd() * n);

function noise(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = int(256);
  // A false header (SOF, VER 1, random SEQ/TYPE, LEN up to 256) every ~40 bytes.
  for (let at = int(40); at + 7 <= n; at += 10 + int(60)) {
    b.set([0xa5, 0x5a, 0x01, int(256), int(256), int(256), int(2)], at);
  }
  return b;
}

function garbageFrame(): Uint8Array {
  const payload = new Uint8Array(int(40));
  for (let i = 0; i < payload.length; i++) payload[i] = int(256);
  // Any TYPE: known ones with payloads of the wrong shape, unknown ones, host-only ones.
  return buildFrame(int(256), int(256), payload);
}

const port = new SerialTransport({ path });
await port.open();
// The parent starts measuring only now, so this process's start-up is not counted.
process.stdout.write('ready\n');
let written = 0;
const write = (b: Uint8Array) => {
  written += b.length;
  return port.write(b).catch(() => {});
};

const started = Date.now();
if (mode === 'flood') {
  const tickMs = 10;
  const chunk = Math.round((bytesPerS * tickMs) / 1000);
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (Date.now() - started >= durationMs) {
        clearInterval(timer);
        resolve();
        return;
      }
      // Keep to the rate even if a tick came late.
      const due = Math.round(((Date.now() - started) * bytesPerS) / 1000) - written;
      if (due > 0) void write(noise(Math.min(due, chunk * 4)));
    }, tickMs);
  });
} else if (mode === 'garbage') {
  port.on('data', () => {
    const parts: Uint8Array[] = [garbageFrame(), noise(int(32)), garbageFrame()];
    for (const p of parts) void write(p);
  });
  await new Promise((r) => setTimeout(r, durationMs));
} else {
  await new Promise((r) => setTimeout(r, durationMs));
}
process.stdout.write(`${JSON.stringify({ mode, written, ms: Date.now() - started })}\n`);
await port.close();
process.exit(0);
