/**
 * Pushes N random frames through one codec and reports the heap after every 100k, for
 * tests/drivers/memory-codecs.test.ts. Run in a child so `--expose-gc` gives a real
 * after-collection figure and nothing else in the process allocates meanwhile:
 *   node --expose-gc --import tsx tests/helpers/codec-churn.ts evp1|keyline N [seed]
 * Prints one JSON line per 100k frames ({ kind: 'heap', ... }) and a final { kind: 'done', ... }.
 *
 * The stream mixes valid frames (every TYPE, random fields, random SEQ), frames with bytes
 * flipped, truncated frames, false headers (A5 5A 01 with a random LEN), pure noise and long
 * quiet gaps, cut into random chunk sizes. Intact frames must all come out, in order (noise may
 * add frames that pass CRC by chance: counted, not failed).
 */

import { FrameDecoder, INTER_BYTE_TIMEOUT_MS } from '../../drivers/evp1/decoder.ts';
import { decodeFrame, encodeFrame, type Key, type Message } from '../../drivers/evp1/frames.ts';
import { encodeKeyLine, KeylineDecoder, MAX_LINE } from '../../drivers/keyline/codec.ts';
import { seededRandom } from '../../drivers/sim/pad-simulator.ts';

const REPORT_EVERY = 100_000;

const [codec = 'evp1', nArg = '1000000', seedArg = '1'] = process.argv.slice(2);
const N = Number(nArg);
const rnd = seededRandom(Number(seedArg));
const int = (n: number) => Math.floor(rnd() * n);
const gc = (globalThis as { gc?: () => void }).gc;

function heapAfterGc(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

function report(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

const TEXT = ['', 'A', '欢迎光临', '请您对我的服务做出评价', 'x'.repeat(60), '李明', '3号窗口'];
const str = () => TEXT[int(TEXT.length)] as string;

function randomMessage(): Message {
  switch (int(14)) {
    case 0:
      return {
        type: 'HELLO',
        proto: 1,
        bootId: int(0xffffffff),
        model: str(),
        firmware: str(),
        serial: str(),
        caps: int(32),
      };
    case 1:
      return { type: 'KEY', pressId: int(0xffffffff), key: (1 + int(5)) as Key, uptimeMs: int(0xffffffff) };
    case 2:
      return { type: 'PONG', nonce: int(0xffffffff) };
    case 3:
      return { type: 'FAULT', code: 1 + int(4), detail: str() };
    case 4:
      return { type: 'SHOW_STAFF', staffNo: str(), name: str(), window: str() };
    case 5:
      return { type: 'ARM', seconds: int(256), caseRef: str() };
    case 6:
      return { type: 'DISARM' };
    case 7:
      return { type: 'PROMPT', prompt: 1 + int(4) };
    case 8:
      return { type: 'SHOW_TEXT', line: int(4), encoding: 'utf8', text: str() };
    case 9:
      return { type: 'SET_MODE', mode: int(3) };
    case 10:
      return { type: 'PING', nonce: int(0xffffffff) };
    case 11:
      return { type: 'GET_INFO' };
    case 12:
      return { type: 'ACK', ackedSeq: int(256), status: int(3) };
    default:
      return { type: 'NAK', seq: int(256), reason: 1 + int(4) };
  }
}

function noise(n: number): Uint8Array {
  const b = new Uint8Array(n);
  // Many A5s, so many false starts of frame.
  for (let i = 0; i < n; i++) b[i] = rnd() < 0.2 ? 0xa5 : int(256);
  return b;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function runEvp1(): void {
  const d = new FrameDecoder();
  let now = 0;
  let maxBuffered = 0;
  // Intact frames not yet seen, in order, with whether garbage ran straight into them.
  const expected: { hex: string; exposed: boolean }[] = [];
  let head = 0;
  let recovered = 0;
  let lostClean = 0;
  let lostExposed = 0;
  let exposedTotal = 0;
  let extras = 0;
  let decodeOk = 0;
  let decodeBad = 0;
  /** True while the last thing on the line was garbage, with no quiet gap since. */
  let dirty = false;
  const take = (frames: ReturnType<FrameDecoder['push']>) => {
    for (const f of frames) {
      const r = decodeFrame(f);
      if (r.ok) decodeOk++;
      else decodeBad++;
      const h = hex(f.raw);
      // An intact frame is found here or a little later; frames skipped over were lost.
      let k = -1;
      for (let j = head; j < Math.min(expected.length, head + 64); j++)
        if ((expected[j] as { hex: string }).hex === h) {
          k = j;
          break;
        }
      if (k < 0) {
        extras++; // noise that passed the CRC by chance, or a truncated frame completed by the next byte
        continue;
      }
      for (let j = head; j < k; j++) {
        if ((expected[j] as { exposed: boolean }).exposed) lostExposed++;
        else lostClean++;
      }
      recovered++;
      head = k + 1;
    }
    if (head > 4096) {
      expected.splice(0, head);
      head = 0;
    }
  };
  const feed = (bytes: Uint8Array) => {
    // Random chunking; bytes of one push arrive together, so no timeout inside a chunk.
    for (let at = 0; at < bytes.length; ) {
      const n = 1 + int(rnd() < 0.5 ? 8 : 128);
      now += rnd() < 0.9 ? 0 : int(INTER_BYTE_TIMEOUT_MS - 1);
      take(d.push(bytes.subarray(at, at + n), now));
      at += n;
      if (d.buffered > maxBuffered) maxBuffered = d.buffered;
    }
  };
  report({ kind: 'heap', frames: 0, heapUsed: heapAfterGc() });
  for (let i = 1; i <= N; i++) {
    const frame = encodeFrame(int(256), randomMessage());
    const what = int(10);
    if (what < 5) {
      // EVP/1 has no byte stuffing: garbage ending like the first bytes of a frame (a truncated
      // frame, say) can be completed by this frame's first bytes and take them; with no quiet
      // gap in between that loss is the protocol's, not the framer's, so it is counted apart.
      expected.push({ hex: hex(frame), exposed: dirty });
      if (dirty) exposedTotal++;
      feed(frame);
      dirty = false;
    } else if (what === 5) {
      const bad = frame.slice();
      const flips = 1 + int(3);
      for (let k = 0; k < flips; k++) {
        const at = int(bad.length);
        bad[at] = (bad[at] as number) ^ (1 + int(255));
      }
      feed(bad);
      dirty = true;
    } else if (what === 6) {
      feed(frame.subarray(0, int(frame.length)));
      dirty = true;
    } else if (what === 7) {
      const len = int(0x10000);
      feed(Uint8Array.of(0xa5, 0x5a, 0x01, int(256), int(256), len & 0xff, len >> 8));
      dirty = true;
    } else if (what === 8) {
      feed(noise(1 + int(64)));
      dirty = true;
    } else {
      // A quiet line: what is pending times out (the links poll 51 ms after the last byte).
      now += INTER_BYTE_TIMEOUT_MS + 1 + int(1000);
      take(d.poll(now));
      dirty = false;
    }
    if (i % REPORT_EVERY === 0) report({ kind: 'heap', frames: i, heapUsed: heapAfterGc(), maxBuffered });
  }
  now += 10_000;
  take(d.poll(now));
  const unseen = expected.slice(head);
  report({
    kind: 'done',
    codec: 'evp1',
    frames: N,
    intact: recovered + lostClean + lostExposed + unseen.length,
    recovered,
    lostClean: lostClean + unseen.filter((e) => !e.exposed).length,
    lostExposed: lostExposed + unseen.filter((e) => e.exposed).length,
    exposedTotal,
    extras,
    decodeOk,
    decodeBad,
    maxBuffered,
    counters: d.counters,
  });
}

function runKeyline(): void {
  const d = new KeylineDecoder();
  let maxBuffered = 0;
  let gotKeys = 0;
  // Reference: a line is a key iff it is exactly "K1".."K5", optionally followed by "\r".
  let refKeys = 0;
  let lineLen = 0;
  const first = new Uint8Array(3);
  const reference = (bytes: Uint8Array) => {
    for (const b of bytes) {
      if (b === 0x0a) {
        const n = lineLen === 3 && first[2] === 0x0d ? 2 : lineLen;
        if (n === 2 && first[0] === 0x4b && (first[1] as number) >= 0x31 && (first[1] as number) <= 0x35)
          refKeys++;
        lineLen = 0;
      } else {
        if (lineLen < 3) first[lineLen] = b;
        lineLen++;
      }
    }
  };
  for (let i = 0; i <= N; i++) {
    if (i % REPORT_EVERY === 0) {
      report({ kind: 'heap', frames: i, heapUsed: heapAfterGc(), maxBuffered });
      if (i === N) break;
    }
    let line: Uint8Array;
    const what = int(8);
    if (what < 4) line = encodeKeyLine((1 + int(5)) as 1);
    else if (what === 4) line = noise(1 + int(3 * MAX_LINE));
    else if (what === 5) line = Uint8Array.of(0x4b, 0x30 + int(10), ...(rnd() < 0.5 ? [0x0d, 0x0a] : [0x0a]));
    else if (what === 6)
      line = Uint8Array.of(0x0a); // an empty line
    else line = noise(MAX_LINE * 2 + int(200)); // an over-long line
    reference(line);
    for (let at = 0; at < line.length; ) {
      const n = 1 + int(16);
      gotKeys += d.push(line.subarray(at, at + n)).length;
      at += n;
      if (d.buffered > maxBuffered) maxBuffered = d.buffered;
    }
  }
  report({ kind: 'done', codec: 'keyline', frames: N, refKeys, gotKeys, maxBuffered, counters: d.counters });
}

if (codec === 'evp1') runEvp1();
else if (codec === 'keyline') runKeyline();
else throw new Error(`unknown codec ${codec}`);
