import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc16, crc16Reference } from '../../../drivers/evp1/crc16.ts';
import {
  buildFrame,
  decodePayload,
  encodeFrame,
  encodePayload,
  FrameType,
  fromHex,
  MAX_PAYLOAD,
  toHex,
} from '../../../drivers/evp1/frames.ts';
import { hexBlock } from '../hex-fixture.ts';
import { arbitraryMessage } from './arbitraries.ts';

const VECTORS = 'evp1-vectors.hex';

describe('CRC-16/CCITT-FALSE', () => {
  it('check value of "123456789" is 29B1 (spec vector)', () => {
    expect(crc16(hexBlock(VECTORS, 'crc-check-input'))).toBe(0x29b1);
  });

  it('of nothing is the init value', () => {
    expect(crc16(new Uint8Array(0))).toBe(0xffff);
  });

  it('can be computed in pieces', () => {
    const data = new TextEncoder().encode('123456789');
    expect(crc16(data, 4, 9, crc16(data, 0, 4))).toBe(0x29b1);
  });

  it('property: the two-bytes-per-step tables agree with the bit-by-bit definition, any range and init', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 0xffff }),
        (data, a, b, init) => {
          const start = data.length === 0 ? 0 : a % (data.length + 1);
          const end = start + (data.length === 0 ? 0 : b % (data.length - start + 1));
          return crc16(data, start, end, init) === crc16Reference(data, start, end, init);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('spec test vectors', () => {
  it('KEY, seq 0, press_id 1, key 1, uptime 1000 ms', () => {
    const bytes = encodeFrame(0, { type: 'KEY', pressId: 1, key: 1, uptimeMs: 1000 });
    expect(toHex(bytes)).toBe('A5 5A 01 00 10 09 00 01 00 00 00 01 E8 03 00 00 86 97');
    expect(bytes).toEqual(hexBlock(VECTORS, 'key-seq0-press1-key1-uptime1000'));
    expect(decodePayload(0x10, bytes.subarray(7, 16))).toEqual({
      ok: true,
      message: { type: 'KEY', pressId: 1, key: 1, uptimeMs: 1000 },
    });
  });

  it('ACK of seq 0, status 0', () => {
    const bytes = encodeFrame(0, { type: 'ACK', ackedSeq: 0, status: 0 });
    expect(toHex(bytes)).toBe('A5 5A 01 00 7F 02 00 00 00 DC B8');
    expect(bytes).toEqual(hexBlock(VECTORS, 'ack-seq0-status0'));
  });

  it('PING, seq 7, nonce 0x12345678', () => {
    const bytes = encodeFrame(7, { type: 'PING', nonce: 0x12345678 });
    expect(toHex(bytes)).toBe('A5 5A 01 07 26 04 00 78 56 34 12 2D C1');
    expect(bytes).toEqual(hexBlock(VECTORS, 'ping-seq7-nonce12345678'));
  });
});

describe('frame type constants', () => {
  it('match the spec table', () => {
    expect(FrameType).toEqual({
      HELLO: 0x01,
      KEY: 0x10,
      PONG: 0x12,
      FAULT: 0x13,
      SHOW_STAFF: 0x20,
      ARM: 0x21,
      DISARM: 0x22,
      PROMPT: 0x23,
      SHOW_TEXT: 0x24,
      SET_MODE: 0x25,
      PING: 0x26,
      GET_INFO: 0x27,
      NAK: 0x7e,
      ACK: 0x7f,
    });
  });
});

describe('payload layouts', () => {
  it('HELLO: proto, boot_id, three strings, caps', () => {
    const p = encodePayload({
      type: 'HELLO',
      proto: 1,
      bootId: 0xdeadbeef,
      model: 'P5',
      firmware: '1.2',
      serial: '',
      caps: 0x0105,
    });
    expect(toHex(p)).toBe('01 EF BE AD DE 02 50 35 03 31 2E 32 00 05 01');
  });

  it('SHOW_TEXT: line, encoding, len, bytes (GBK 你好)', () => {
    const p = encodePayload({ type: 'SHOW_TEXT', line: 2, encoding: 'gbk', text: '你好' });
    expect(toHex(p)).toBe('02 01 04 C4 E3 BA C3');
    expect(decodePayload(0x24, p)).toEqual({
      ok: true,
      message: { type: 'SHOW_TEXT', line: 2, encoding: 'gbk', text: '你好' },
    });
  });

  it('SHOW_TEXT in UTF-8 keeps Chinese as UTF-8', () => {
    const p = encodePayload({ type: 'SHOW_TEXT', line: 0, encoding: 'utf8', text: '谢谢' });
    expect(toHex(p)).toBe('00 00 06 E8 B0 A2 E8 B0 A2');
  });

  it('strings are u8 length + UTF-8', () => {
    expect(toHex(encodePayload({ type: 'ARM', seconds: 30, caseRef: '办' }))).toBe('1E 03 E5 8A 9E');
  });
});

describe('decodePayload refuses (NAK reason 4) and never throws', () => {
  const bad = (type: number, hex: string) => decodePayload(type, fromHex(hex));

  it.each([
    ['trailing bytes', 0x22, '00'],
    ['trailing bytes after a KEY', 0x10, '01 00 00 00 01 E8 03 00 00 FF'],
    ['a short KEY', 0x10, '01 00 00 00 01 E8 03'],
    ['key 0', 0x10, '01 00 00 00 00 E8 03 00 00'],
    ['key 6', 0x10, '01 00 00 00 06 E8 03 00 00'],
    ['invalid UTF-8 (lone continuation byte)', 0x21, '1E 01 80'],
    ['invalid UTF-8 (overlong)', 0x21, '1E 02 C0 80'],
    ['a string running past the payload', 0x21, '1E 05 41 42'],
    ['HELLO proto 2', 0x01, '02 01 00 00 00 00 00 00 00 00'],
    ['PROMPT 5', 0x23, '05'],
    ['PROMPT 0', 0x23, '00'],
    ['SET_MODE 3', 0x25, '03'],
    ['FAULT code 0', 0x13, '00 00'],
    ['SHOW_TEXT encoding 2', 0x24, '00 02 00'],
    ['SHOW_TEXT invalid GBK', 0x24, '00 01 01 81'],
    ['SHOW_TEXT len larger than the bytes', 0x24, '00 00 03 41'],
    ['ACK status 3', 0x7f, '00 03'],
    ['NAK reason 0', 0x7e, '00 00'],
  ])('%s', (_name, type, hex) => {
    const r = bad(type, hex);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe(4);
  });

  it('unknown type is reason 2', () => {
    expect(decodePayload(0x55, new Uint8Array(0))).toMatchObject({ ok: false, reason: 2 });
  });

  it('keeps a leading BOM instead of silently stripping it', () => {
    const r = decodePayload(0x21, fromHex('00 03 EF BB BF'));
    expect(r).toEqual({ ok: true, message: { type: 'ARM', seconds: 0, caseRef: '\uFEFF' } });
  });

  it('any type code with any payload: a result, never an exception', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.uint8Array({ maxLength: MAX_PAYLOAD }),
        (type, payload) => {
          const r = decodePayload(type, payload);
          expect(typeof r.ok).toBe('boolean');
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('encode refuses what the spec does not allow', () => {
  it.each([
    ['key 6', { type: 'KEY', pressId: 1, key: 6, uptimeMs: 0 }],
    ['negative press id', { type: 'KEY', pressId: -1, key: 1, uptimeMs: 0 }],
    ['a 256-byte string', { type: 'ARM', seconds: 1, caseRef: 'x'.repeat(256) }],
    ['ARM seconds 256', { type: 'ARM', seconds: 256, caseRef: '' }],
    ['GBK text with an emoji', { type: 'SHOW_TEXT', line: 0, encoding: 'gbk', text: '好😀' }],
  ] as const)('%s', (_name, msg) => {
    // biome-ignore lint/suspicious/noExplicitAny: deliberately invalid messages
    expect(() => encodePayload(msg as any)).toThrow(RangeError);
  });

  it('payload over 256 bytes cannot be framed', () => {
    expect(() => buildFrame(0, 0x24, new Uint8Array(257))).toThrow(RangeError);
  });
});

describe('round trip', () => {
  it('decode(encode(m)) = m for every message type', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), arbitraryMessage, (seq, msg) => {
        const frame = encodeFrame(seq, msg);
        expect(frame[3]).toBe(seq);
        expect(frame[4]).toBe(FrameType[msg.type]);
        const len = (frame[5] as number) | ((frame[6] as number) << 8);
        expect(frame.length).toBe(9 + len);
        expect(crc16(frame, 2, 7 + len)).toBe(((frame[7 + len] as number) << 8) | (frame[8 + len] as number));
        expect(decodePayload(frame[4] as number, frame.subarray(7, 7 + len))).toEqual({
          ok: true,
          message: msg,
        });
      }),
      { numRuns: 3000 },
    );
  });

  it('covers all 14 types', () => {
    const seen = new Set(fc.sample(arbitraryMessage, 2000).map((m) => m.type));
    expect(seen.size).toBe(14);
  });
});
