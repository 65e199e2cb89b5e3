/**
 * 1,000,000 random frames through each codec (issue 4, "must hold"): no crash, every intact frame
 * comes out, and memory stays bounded. Each codec runs in a child with --expose-gc
 * (tests/helpers/codec-churn.ts), so the heap is measured after a real collection every 100k
 * frames and nothing else in the process allocates meanwhile.
 */

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MAX_FRAME_SIZE } from '../../drivers/evp1/frames.ts';
import { MAX_LINE } from '../../drivers/keyline/codec.ts';

const SCRIPT = fileURLToPath(new URL('../helpers/codec-churn.ts', import.meta.url));
const FRAMES = 1_000_000;
/** Growth allowed over the run, after GC: the harness itself keeps up to 4096 frames' hex. */
const HEAP_SLACK = 4 * 1024 * 1024;

interface HeapLine {
  kind: 'heap';
  frames: number;
  heapUsed: number;
}

function churn(codec: 'evp1' | 'keyline'): Promise<{ heap: HeapLine[]; done: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', SCRIPT, codec, String(FRAMES), '20261126'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code !== 0) return reject(new Error(`${codec} churn exited ${code ?? signal}: ${err}`));
      const lines = out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { kind: string });
      const done = lines.find((l) => l.kind === 'done') as Record<string, unknown> | undefined;
      if (!done) return reject(new Error(`${codec} churn printed no result: ${out} ${err}`));
      resolve({ heap: lines.filter((l): l is HeapLine => l.kind === 'heap'), done });
    });
  });
}

function checkHeap(codec: string, heap: HeapLine[]): void {
  expect(heap.map((h) => h.frames)).toEqual(Array.from({ length: 11 }, (_, i) => i * 100_000));
  const base = (heap[1] as HeapLine).heapUsed; // after warm-up (JIT, the codecs' tables)
  const max = Math.max(...heap.slice(1).map((h) => h.heapUsed));
  console.log(
    `${codec}: heap after GC per 100k frames (MB): ${heap.map((h) => (h.heapUsed / 1048576).toFixed(2)).join(' ')}`,
  );
  expect(max - base).toBeLessThan(HEAP_SLACK);
}

describe('1,000,000 random frames per codec, bounded memory', () => {
  it('EVP/1 FrameDecoder + decodePayload', async () => {
    const { heap, done } = await churn('evp1');
    console.log(`evp1: ${JSON.stringify(done)}`);
    checkHeap('evp1', heap);
    expect(done.frames).toBe(FRAMES);
    // The framer never holds more than one partial frame between calls.
    expect(done.maxBuffered).toBeLessThan(MAX_FRAME_SIZE);
    // Every intact frame comes out, unless garbage ran straight into it (see codec-churn.ts):
    // then a truncated frame completed by its first byte can take it, about 1 in 10⁴ here.
    expect(done.lostClean).toBe(0);
    expect(done.lostExposed as number).toBeLessThan((done.exposedTotal as number) / 1000);
    expect(done.recovered as number).toBeGreaterThan(FRAMES * 0.45);
  }, 180_000);

  it('KEYLINE KeylineDecoder', async () => {
    const { heap, done } = await churn('keyline');
    console.log(`keyline: ${JSON.stringify(done)}`);
    checkHeap('keyline', heap);
    // Exactly the keys a line-by-line reference parser finds in the same bytes.
    expect(done.gotKeys).toBe(done.refKeys);
    expect(done.refKeys as number).toBeGreaterThan(FRAMES * 0.4);
    expect(done.maxBuffered).toBeLessThanOrEqual(MAX_LINE);
  }, 180_000);
});
