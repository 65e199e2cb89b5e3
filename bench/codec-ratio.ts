/**
 * Codec throughput as a ratio against a plain Buffer.indexOf scan of the same bytes, measured in
 * the same run (issue 4 target: ≥ 0.3× for both). Same workloads as bench/decoder.bench.ts and
 * bench/keyline.bench.ts, timed here so the ratio is printed with PASS/FAIL.
 * Run: node --import tsx bench/codec-ratio.ts
 */

import { FrameDecoder } from '../drivers/evp1/decoder.ts';
import { encodeFrame, type Key } from '../drivers/evp1/frames.ts';
import { KeylineDecoder } from '../drivers/keyline/codec.ts';

const TARGET = 0.3;
const CHUNK = 64;

/** Best of several rounds of `reps` runs: MB/s. */
function throughput(bytes: number, fn: () => void, reps = 200): number {
  for (let i = 0; i < 20; i++) fn(); // warm-up
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 7; round++) {
    const t = performance.now();
    for (let i = 0; i < reps; i++) fn();
    best = Math.min(best, (performance.now() - t) / reps);
  }
  return bytes / 1e6 / (best / 1000);
}

// EVP/1: the frames of bench/decoder.bench.ts.
const frames: Uint8Array[] = [];
for (let i = 0; i < 1000; i++) {
  frames.push(
    i % 3 === 0
      ? encodeFrame(i & 0xff, { type: 'KEY', pressId: i + 1, key: ((i % 5) + 1) as Key, uptimeMs: i * 1000 })
      : encodeFrame(i & 0xff, {
          type: 'SHOW_TEXT',
          line: 1,
          encoding: 'utf8',
          text: `请您对我的服务做出评价 ${i}`,
        }),
  );
}
const evp = Buffer.concat(frames);
const SOF = Buffer.from([0xa5, 0x5a]);
const evpDecoder = throughput(evp.length, () => {
  const d = new FrameDecoder();
  let n = 0;
  for (let i = 0; i < evp.length; i += CHUNK) n += d.push(evp.subarray(i, i + CHUNK), 0).length;
  if (n !== frames.length) throw new Error(`decoded ${n}`);
});
const evpScan = throughput(evp.length, () => {
  let n = 0;
  let from = 0;
  for (;;) {
    const i = evp.indexOf(SOF, from);
    if (i < 0 || i + 7 > evp.length) break;
    n++;
    from = i + 9 + evp.readUInt16LE(i + 5);
  }
  if (n !== frames.length) throw new Error(`scanned ${n}`);
});

// KEYLINE: the lines of bench/keyline.bench.ts.
const lines: string[] = [];
for (let i = 0; i < 20_000; i++) lines.push(i % 7 === 0 ? 'noise 0xFF junk\r\n' : `K${(i % 5) + 1}\r\n`);
const kl = Buffer.from(lines.join(''), 'latin1');
const klDecoder = throughput(
  kl.length,
  () => {
    const d = new KeylineDecoder();
    let keys = 0;
    for (let at = 0; at < kl.length; at += CHUNK) keys += d.push(kl.subarray(at, at + CHUNK)).length;
    if (keys === 0) throw new Error('no keys');
  },
  50,
);
const klScan = throughput(
  kl.length,
  () => {
    let n = 0;
    let from = 0;
    for (;;) {
      const i = kl.indexOf(0x0a, from);
      if (i < 0) break;
      if (i - from >= 2 && kl[from] === 0x4b) n++;
      from = i + 1;
    }
    if (n === 0) throw new Error('no lines');
  },
  50,
);

let ok = true;
for (const [name, codec, scan] of [
  [`EVP/1 FrameDecoder (${evp.length} bytes, 1000 frames, ${CHUNK}-byte chunks)`, evpDecoder, evpScan],
  [`KEYLINE KeylineDecoder (${kl.length} bytes, 20k lines, ${CHUNK}-byte chunks)`, klDecoder, klScan],
] as const) {
  const ratio = codec / scan;
  const pass = ratio >= TARGET;
  ok &&= pass;
  console.log(
    `${name}: ${codec.toFixed(1)} MB/s vs Buffer.indexOf scan ${scan.toFixed(1)} MB/s = ${ratio.toFixed(2)}× ` +
      `(target ≥ ${TARGET}×) ${pass ? 'PASS' : 'FAIL'}`,
  );
}
process.exitCode = ok ? 0 : 1;
