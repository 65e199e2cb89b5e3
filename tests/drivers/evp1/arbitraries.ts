/** fast-check arbitraries for EVP/1 messages and frames, shared by the property tests. */

import fc from 'fast-check';
import { encodeFrame, type Message } from '../../../drivers/evp1/frames.ts';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
// ≤ 63 code points × 4 bytes stays under the 255-byte string limit.
const str = fc.string({ unit: 'binary', maxLength: 63 });
const GBK_CHARS = [
  ...'请您对我的服务做出评价谢谢欢迎光临暂停窗口号张三李四王五赵六一二三四五非常满意不满意基本€',
  ...'abcXYZ019 ,.-',
];
const gbkText = fc.array(fc.constantFrom(...GBK_CHARS), { maxLength: 120 }).map((a) => a.join(''));

export const arbitraryMessage: fc.Arbitrary<Message> = fc.oneof(
  fc.record({
    type: fc.constant('HELLO' as const),
    proto: fc.constant(1),
    bootId: u32,
    model: str,
    firmware: str,
    serial: str,
    caps: u16,
  }),
  fc.record({
    type: fc.constant('KEY' as const),
    pressId: u32,
    key: fc.constantFrom(1 as const, 2 as const, 3 as const, 4 as const, 5 as const),
    uptimeMs: u32,
  }),
  fc.record({ type: fc.constant('PONG' as const), nonce: u32 }),
  fc.record({ type: fc.constant('FAULT' as const), code: fc.integer({ min: 1, max: 4 }), detail: str }),
  fc.record({ type: fc.constant('SHOW_STAFF' as const), staffNo: str, name: str, window: str }),
  fc.record({ type: fc.constant('ARM' as const), seconds: u8, caseRef: str }),
  fc.record({ type: fc.constant('DISARM' as const) }),
  fc.record({ type: fc.constant('PROMPT' as const), prompt: fc.integer({ min: 1, max: 4 }) }),
  fc.oneof(
    fc.record({
      type: fc.constant('SHOW_TEXT' as const),
      line: u8,
      encoding: fc.constant('utf8' as const),
      text: str,
    }),
    fc.record({
      type: fc.constant('SHOW_TEXT' as const),
      line: u8,
      encoding: fc.constant('gbk' as const),
      text: gbkText,
    }),
  ),
  fc.record({ type: fc.constant('SET_MODE' as const), mode: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ type: fc.constant('PING' as const), nonce: u32 }),
  fc.record({ type: fc.constant('GET_INFO' as const) }),
  fc.record({ type: fc.constant('ACK' as const), ackedSeq: u8, status: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ type: fc.constant('NAK' as const), seq: u8, reason: fc.integer({ min: 1, max: 4 }) }),
);

export const arbitraryFrame: fc.Arbitrary<Uint8Array> = fc
  .tuple(u8, arbitraryMessage)
  .map(([seq, msg]) => encodeFrame(seq, msg));

export const arbitraryBytes = (maxLength = 300): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength });

/** Cuts `stream` at the given fractions into consecutive chunks (some empty). */
export function splitAt(stream: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = cuts.map((c) => Math.floor(c * (stream.length + 1))).sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    chunks.push(stream.subarray(prev, p));
    prev = p;
  }
  chunks.push(stream.subarray(prev));
  return chunks;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
