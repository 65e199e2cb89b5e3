/**
 * EVP/1 framer throughput. A pad at 9600 baud delivers at most ~960 bytes/s, so anything above a
 * few MB/s is headroom; these numbers guard against accidental quadratic behaviour (for example
 * rescanning the whole buffer per byte) rather than chase speed.
 * Run: npx vitest bench bench/decoder.bench.ts --run
 */

import { bench, describe } from 'vitest';
import { FrameDecoder } from '../drivers/evp1/decoder.ts';
import { encodeFrame } from '../drivers/evp1/frames.ts';

const frames: Uint8Array[] = [];
for (let i = 0; i < 1000; i++) {
  frames.push(
    i % 3 === 0
      ? encodeFrame(i & 0xff, { type: 'KEY', pressId: i + 1, key: ((i % 5) + 1) as 1, uptimeMs: i * 1000 })
      : encodeFrame(i & 0xff, {
          type: 'SHOW_TEXT',
          line: 1,
          encoding: 'utf8',
          text: `请您对我的服务做出评价 ${i}`,
        }),
  );
}
const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
{
  let at = 0;
  for (const f of frames) {
    stream.set(f, at);
    at += f.length;
  }
}

// Same frames with 1-8 bytes of noise (many A5s, so false SOFs) before each.
let seed = 1;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const noisyParts: number[] = [];
for (const f of frames) {
  const n = 1 + Math.floor(rnd() * 8);
  for (let i = 0; i < n; i++) noisyParts.push(rnd() < 0.4 ? 0xa5 : Math.floor(rnd() * 256));
  noisyParts.push(...f);
}
const noisy = Uint8Array.from(noisyParts);

describe(`decode 1000 frames (${stream.length} bytes)`, () => {
  bench('one chunk', () => {
    new FrameDecoder().push(stream, 0);
  });

  bench('64-byte chunks (USB-serial packet size)', () => {
    const d = new FrameDecoder();
    for (let i = 0; i < stream.length; i += 64) d.push(stream.subarray(i, i + 64), 0);
  });

  bench('one byte at a time', () => {
    const d = new FrameDecoder();
    for (let i = 0; i < stream.length; i++) d.push(stream.subarray(i, i + 1), 0);
  });

  bench(`with noise before every frame (${noisy.length} bytes)`, () => {
    new FrameDecoder().push(noisy, 0);
  });
});

describe('1 MB of random bytes', () => {
  const junk = Uint8Array.from({ length: 1 << 20 }, () => Math.floor(rnd() * 256));
  bench('one chunk', () => {
    new FrameDecoder().push(junk, 0);
  });
});

// Issue 4: the framer against the least a framer must do, a Buffer.indexOf scan for SOF that
// jumps over each frame by its LEN (no CRC, no resync), over the same bytes (target ≥ 0.3×;
// bench/codec-ratio.ts prints the ratio).
const streamBuf = Buffer.from(stream.buffer, stream.byteOffset, stream.byteLength);
const SOF = Buffer.from([0xa5, 0x5a]);
describe(`EVP/1 framer vs Buffer.indexOf scan, 1000 frames (${stream.length} bytes)`, () => {
  bench('FrameDecoder.push, 64-byte chunks', () => {
    const d = new FrameDecoder();
    let n = 0;
    for (let i = 0; i < stream.length; i += 64) n += d.push(stream.subarray(i, i + 64), 0).length;
    if (n !== frames.length) throw new Error(`decoded ${n}`);
  });

  bench('Buffer.indexOf SOF scan (baseline)', () => {
    let n = 0;
    let from = 0;
    for (;;) {
      const i = streamBuf.indexOf(SOF, from);
      if (i < 0 || i + 7 > streamBuf.length) break;
      n++;
      from = i + 9 + streamBuf.readUInt16LE(i + 5);
    }
    if (n !== frames.length) throw new Error(`scanned ${n}`);
  });
});
