/**
 * KEYLINE decoder throughput against a plain `Buffer.indexOf('\n')` line scan of the same bytes
 * (issue 4 asks for ≥ 0.3× of that scan). Run: npx vitest bench bench/keyline.bench.ts --run
 */

import { bench, describe } from 'vitest';
import { KeylineDecoder } from '../drivers/keyline/codec.ts';

const lines: string[] = [];
for (let i = 0; i < 20_000; i++) lines.push(i % 7 === 0 ? 'noise 0xFF junk\r\n' : `K${(i % 5) + 1}\r\n`);
const stream = Buffer.from(lines.join(''), 'latin1');
const CHUNK = 64;

describe('KEYLINE, 20k lines in 64-byte chunks', () => {
  bench('KeylineDecoder.push', () => {
    const d = new KeylineDecoder();
    let keys = 0;
    for (let at = 0; at < stream.length; at += CHUNK) keys += d.push(stream.subarray(at, at + CHUNK)).length;
    if (keys === 0) throw new Error('no keys');
  });

  bench('Buffer.indexOf line scan (baseline)', () => {
    let n = 0;
    let from = 0;
    for (;;) {
      const i = stream.indexOf(0x0a, from);
      if (i < 0) break;
      if (i - from >= 2 && stream[from] === 0x4b) n++;
      from = i + 1;
    }
    if (n === 0) throw new Error('no lines');
  });
});
