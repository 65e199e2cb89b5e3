import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc16 } from '../../../drivers/evp1/crc16.ts';
import { FrameDecoder } from '../../../drivers/evp1/decoder.ts';
import { encodeFrame, type Frame, toHex } from '../../../drivers/evp1/frames.ts';
import { hexBlock } from '../hex-fixture.ts';
import { arbitraryBytes, arbitraryFrame, concat, splitAt } from './arbitraries.ts';

const HAZARDS = 'evp1-hazards.hex';
const KEY = hexBlock('evp1-vectors.hex', 'key-seq0-press1-key1-uptime1000');
const ACK = hexBlock('evp1-vectors.hex', 'ack-seq0-status0');
const PING = hexBlock('evp1-vectors.hex', 'ping-seq7-nonce12345678');

const hexes = (frames: Frame[]) => frames.map((f) => toHex(f.raw));

/** Feeds chunks 1 ms apart (well inside the 50 ms rule). */
function feed(chunks: Uint8Array[], decoder = new FrameDecoder()): Frame[] {
  const out: Frame[] = [];
  chunks.forEach((c, i) => {
    out.push(...decoder.push(c, i));
  });
  return out;
}

/**
 * Feeds chunks, then lets the line go quiet: a false header in the garbage can claim up to 256
 * bytes and so hold real frames back until it completes (bad CRC) or times out after 50 ms.
 */
function feedThenQuiet(chunks: Uint8Array[], decoder = new FrameDecoder()): Frame[] {
  const out = feed(chunks, decoder);
  out.push(...decoder.poll(chunks.length + 51));
  return out;
}

function crcIsGood(raw: Uint8Array): boolean {
  const n = raw.length;
  return crc16(raw, 2, n - 2) === (((raw[n - 2] as number) << 8) | (raw[n - 1] as number));
}

describe('FrameDecoder: named hazards', () => {
  it('whole frame in one chunk', () => {
    const d = new FrameDecoder();
    const [f] = d.push(KEY, 0);
    expect(f).toMatchObject({ seq: 0, type: 0x10 });
    expect(toHex(f?.payload ?? new Uint8Array())).toBe('01 00 00 00 01 E8 03 00 00');
    expect(d.counters).toMatchObject({ frames: 1, badCrc: 0, resyncs: 0, droppedBytes: 0, timeouts: 0 });
  });

  it('frame split in two chunks', () => {
    expect(hexes(feed([KEY.subarray(0, 5), KEY.subarray(5)]))).toEqual([toHex(KEY)]);
  });

  it('frame split inside the SOF', () => {
    expect(hexes(feed([KEY.subarray(0, 1), KEY.subarray(1)]))).toEqual([toHex(KEY)]);
  });

  it('frame fed one byte at a time', () => {
    expect(hexes(feed([...KEY].map((b) => Uint8Array.of(b))))).toEqual([toHex(KEY)]);
  });

  it('two frames in one chunk', () => {
    expect(hexes(feed([concat([KEY, ACK])]))).toEqual([toHex(KEY), toHex(ACK)]);
  });

  it('garbage before a frame', () => {
    const d = new FrameDecoder();
    expect(hexes(feed([hexBlock(HAZARDS, 'noise-then-key')], d))).toEqual([toHex(KEY)]);
    expect(d.counters.droppedBytes).toBe(7);
  });

  it('false SOF inside garbage (A5 5A then an unknown VER)', () => {
    const d = new FrameDecoder();
    expect(hexes(feed([hexBlock(HAZARDS, 'false-sof-with-bad-version')], d))).toEqual([toHex(ACK)]);
    expect(d.counters.resyncs).toBeGreaterThanOrEqual(1);
  });

  it('false header with LEN > 256', () => {
    const d = new FrameDecoder();
    expect(hexes(feed([hexBlock(HAZARDS, 'false-header-huge-len')], d))).toEqual([toHex(PING)]);
    expect(d.counters.resyncs).toBe(1);
  });

  it('bad CRC: frame dropped, the next one found', () => {
    const d = new FrameDecoder();
    expect(hexes(feed([hexBlock(HAZARDS, 'bad-crc-then-good')], d))).toEqual([toHex(ACK)]);
    expect(d.counters.badCrc).toBe(1);
  });

  it('frame hidden inside a bad-CRC frame is found (drop one SOF byte, not the whole frame)', () => {
    // A header claiming 11 payload bytes swallows a whole ACK, then the CRC is wrong.
    const fake = concat([Uint8Array.of(0xa5, 0x5a, 0x01, 0x00, 0x10, 0x0b, 0x00), ACK, Uint8Array.of(0, 0)]);
    expect(hexes(feed([fake]))).toEqual([toHex(ACK)]);
  });

  it('partial frame abandoned after 50 ms', () => {
    const d = new FrameDecoder();
    expect(d.push(KEY.subarray(0, 10), 0)).toEqual([]);
    // The rest arrives 51 ms later: the first half is abandoned, the tail alone is no frame.
    expect(d.push(KEY.subarray(10), 51)).toEqual([]);
    expect(d.counters.timeouts).toBeGreaterThanOrEqual(1);
    expect(d.buffered).toBe(0);
    // A fresh frame afterwards is decoded normally.
    expect(hexes(d.push(ACK, 52))).toEqual([toHex(ACK)]);
  });

  it('exactly 50 ms between bytes is still one frame', () => {
    const d = new FrameDecoder();
    d.push(KEY.subarray(0, 10), 0);
    expect(hexes(d.push(KEY.subarray(10), 50))).toEqual([toHex(KEY)]);
  });

  it('complete frame hidden behind a false header is found after 50 ms (on the next bytes)', () => {
    const d = new FrameDecoder();
    expect(d.push(hexBlock(HAZARDS, 'false-header-hiding-frame'), 0)).toEqual([]);
    expect(hexes(d.push(PING, 60))).toEqual([toHex(ACK), toHex(PING)]);
    expect(d.counters.timeouts).toBe(1);
  });

  it('complete frame hidden behind a false header is released by poll() on a quiet line', () => {
    const d = new FrameDecoder();
    d.push(hexBlock(HAZARDS, 'false-header-hiding-frame'), 0);
    expect(d.poll(50)).toEqual([]);
    expect(hexes(d.poll(51))).toEqual([toHex(ACK)]);
    expect(d.buffered).toBe(0);
  });

  it('lone A5 at the end of a chunk is kept as a possible SOF', () => {
    expect(hexes(feed([Uint8Array.of(0x00, 0xa5), KEY.subarray(1)]))).toEqual([toHex(KEY)]);
  });

  it('A5 A5 5A: the second A5 starts the frame', () => {
    expect(hexes(feed([concat([Uint8Array.of(0xa5), KEY])]))).toEqual([toHex(KEY)]);
  });

  it('maximal frame (256-byte payload)', () => {
    const big = encodeFrame(9, { type: 'SHOW_TEXT', line: 1, encoding: 'utf8', text: 'x'.repeat(253) });
    expect(big.length).toBe(265);
    expect(hexes(feed(splitAt(big, [0.3, 0.6])))).toEqual([toHex(big)]);
  });

  it('a megabyte of noise in one push keeps the buffer bounded and finds the frame after it', () => {
    const d = new FrameDecoder();
    const noise = new Uint8Array(1 << 20).map((_, i) => (i * 7919) & 0xff);
    const frames = d.push(concat([noise, KEY]), 0);
    expect(hexes(frames).at(-1)).toBe(toHex(KEY));
    expect(d.buffered).toBeLessThan(265);
  });

  it('clock going backwards does not throw or abandon', () => {
    const d = new FrameDecoder();
    d.push(KEY.subarray(0, 4), 1000);
    expect(hexes(d.push(KEY.subarray(4), 10))).toEqual([toHex(KEY)]);
  });

  it('emitted frames do not alias the internal buffer', () => {
    const d = new FrameDecoder();
    const [f] = d.push(KEY, 0);
    d.push(ACK, 1);
    expect(toHex(f?.raw ?? new Uint8Array())).toBe(toHex(KEY));
  });
});

describe('FrameDecoder: properties', () => {
  it('random chunking of a stream of valid frames yields exactly those frames', () => {
    fc.assert(
      fc.property(
        fc.array(arbitraryFrame, { minLength: 1, maxLength: 12 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 30 }),
        (frames, cuts) => {
          const chunks = splitAt(concat(frames), cuts);
          const d = new FrameDecoder();
          expect(hexes(feed(chunks, d))).toEqual(frames.map(toHex));
          expect(d.counters).toMatchObject({ badCrc: 0, droppedBytes: 0, timeouts: 0 });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('valid frames interleaved with garbage are all found; nothing that fails CRC is emitted', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(arbitraryBytes(80), arbitraryFrame), { minLength: 1, maxLength: 8 }),
        arbitraryBytes(80),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 20 }),
        (pairs, tail, cuts) => {
          const stream = concat([...pairs.flat(), tail]);
          const got = feedThenQuiet(splitAt(stream, cuts));
          for (const f of got) expect(crcIsGood(f.raw)).toBe(true);
          // Every real frame appears, in order (garbage may add frames of its own, with good CRCs).
          const gotHex = hexes(got);
          let at = 0;
          for (const [, frame] of pairs) {
            const idx = gotHex.indexOf(toHex(frame), at);
            expect(idx).toBeGreaterThanOrEqual(at);
            at = idx + 1;
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('garbage made of SOF-like bytes (false headers) never hides a valid frame for good', () => {
    const sofish = fc
      .uint8Array({ maxLength: 40 })
      .map((a) => a.map((b) => [0xa5, 0x5a, 0x01, 0x00, b][b % 5] as number));
    fc.assert(
      fc.property(fc.array(fc.tuple(sofish, arbitraryFrame), { minLength: 1, maxLength: 6 }), (pairs) => {
        const got = hexes(feedThenQuiet([concat(pairs.flat())]));
        let at = 0;
        for (const [, frame] of pairs) {
          const idx = got.indexOf(toHex(frame), at);
          expect(idx).toBeGreaterThanOrEqual(at);
          at = idx + 1;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('any random bytes at any times never throw, and the buffer stays bounded', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: -10, max: 200 })), {
          maxLength: 30,
        }),
        (chunks) => {
          const d = new FrameDecoder();
          let now = 0;
          for (const [bytes, dt] of chunks) {
            now += dt;
            for (const f of d.push(bytes, now)) expect(crcIsGood(f.raw)).toBe(true);
            expect(d.buffered).toBeLessThan(265);
          }
          d.poll(now + 100);
          expect(d.buffered).toBe(0);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
