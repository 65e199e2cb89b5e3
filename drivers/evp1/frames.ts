/**
 * EVP/1 frames and payloads (docs: shared/docs/pad-protocol.md). Pure: Uint8Array in, typed
 * message or typed error out; no Node APIs, so it also runs in a browser or a worker.
 *
 * Encoding refuses values the spec does not allow (RangeError naming the field); decoding never
 * throws and reports them as NAK reason 4, so whatever this side can send the other side accepts.
 */

import { crc16 } from './crc16.ts';
import { gbkDecode, gbkEncode } from './gbk.ts';

export const SOF0 = 0xa5;
export const SOF1 = 0x5a;
export const PROTOCOL_VERSION = 1;
/** SOF(2) VER SEQ TYPE LEN(2). */
export const HEADER_SIZE = 7;
export const CRC_SIZE = 2;
export const MAX_PAYLOAD = 256;
export const MAX_FRAME_SIZE = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE;

export const FrameType = {
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
} as const;
export type FrameTypeName = keyof typeof FrameType;
export type FrameTypeCode = (typeof FrameType)[FrameTypeName];

const NAME_BY_CODE = new Map<number, FrameTypeName>(
  (Object.entries(FrameType) as [FrameTypeName, number][]).map(([name, code]) => [code, name]),
);

export function frameTypeName(code: number): FrameTypeName | undefined {
  return NAME_BY_CODE.get(code);
}

/** Frames the device sends; the host answers any other type from a device with NAK 2. */
export const DEVICE_TYPES: ReadonlySet<FrameTypeName> = new Set([
  'HELLO',
  'KEY',
  'PONG',
  'FAULT',
  'ACK',
  'NAK',
]);
/** Frames the host sends; the device answers any other type from a host with NAK 2. */
export const HOST_TYPES: ReadonlySet<FrameTypeName> = new Set([
  'SHOW_STAFF',
  'ARM',
  'DISARM',
  'PROMPT',
  'SHOW_TEXT',
  'SET_MODE',
  'PING',
  'GET_INFO',
  'ACK',
  'NAK',
]);

export const NakReason = { RESERVED: 1, UNKNOWN_TYPE: 2, BUSY: 3, BAD_PAYLOAD: 4 } as const;
export type NakReasonCode = 1 | 2 | 3 | 4;

/** ACK status of a KEY: what became of the press (0 is also "ok" for every other frame). */
export const KeyStatus = { ACCEPTED: 0, RECORDED: 1, REFUSED: 2 } as const;
export type KeyStatusCode = 0 | 1 | 2;

export const Caps = { TEXT_SCREEN: 1, VOICE: 2, KEY_LEDS: 4, ID_CARD_READER: 8, NUMERIC_KEYPAD: 16 } as const;
export const FaultCode = { KEY_STUCK: 1, VOICE: 2, SCREEN: 3, BROWN_OUT: 4 } as const;
export const PromptCode = { PLEASE_RATE: 1, THANK_YOU: 2, PAUSED: 3, WELCOME: 4 } as const;
export const PadMode = { IDLE: 0, SERVING: 1, PAUSED: 2 } as const;

export type Key = 1 | 2 | 3 | 4 | 5;
export type TextEncodingName = 'utf8' | 'gbk';

export type Message =
  | {
      type: 'HELLO';
      proto: number;
      bootId: number;
      model: string;
      firmware: string;
      serial: string;
      caps: number;
    }
  | { type: 'KEY'; pressId: number; key: Key; uptimeMs: number }
  | { type: 'PONG'; nonce: number }
  | { type: 'FAULT'; code: number; detail: string }
  | { type: 'SHOW_STAFF'; staffNo: string; name: string; window: string }
  | { type: 'ARM'; seconds: number; caseRef: string }
  | { type: 'DISARM' }
  | { type: 'PROMPT'; prompt: number }
  | { type: 'SHOW_TEXT'; line: number; encoding: TextEncodingName; text: string }
  | { type: 'SET_MODE'; mode: number }
  | { type: 'PING'; nonce: number }
  | { type: 'GET_INFO' }
  | { type: 'ACK'; ackedSeq: number; status: number }
  | { type: 'NAK'; seq: number; reason: number };

export type MessageOf<T extends FrameTypeName> = Extract<Message, { type: T }>;

/** A frame cut from the byte stream with a good CRC; its payload is not decoded yet. */
export interface Frame {
  seq: number;
  type: number;
  payload: Uint8Array;
  /** The whole frame, SOF to CRC: what repeat detection compares. */
  raw: Uint8Array;
}

export type DecodeResult =
  | { ok: true; message: Message }
  | { ok: false; reason: typeof NakReason.UNKNOWN_TYPE | typeof NakReason.BAD_PAYLOAD; detail: string };

// ---------------------------------------------------------------------------------------------
// Field rules shared by encoder and decoder: each returns a complaint, or null when the value fits.

const U32_MAX = 0xffff_ffff;
const isUint = (v: number, max: number): boolean => Number.isInteger(v) && v >= 0 && v <= max;
const inRange = (v: number, lo: number, hi: number): boolean => Number.isInteger(v) && v >= lo && v <= hi;

function ruleViolation(msg: Message): string | null {
  switch (msg.type) {
    case 'HELLO':
      if (msg.proto !== 1) return `HELLO.proto must be 1, got ${msg.proto}`;
      if (!isUint(msg.bootId, U32_MAX)) return 'HELLO.bootId must be a u32';
      if (!isUint(msg.caps, 0xffff)) return 'HELLO.caps must be a u16';
      return null;
    case 'KEY':
      if (!isUint(msg.pressId, U32_MAX)) return 'KEY.pressId must be a u32';
      if (!inRange(msg.key, 1, 5)) return `KEY.key must be 1..5, got ${msg.key}`;
      if (!isUint(msg.uptimeMs, U32_MAX)) return 'KEY.uptimeMs must be a u32';
      return null;
    case 'PONG':
    case 'PING':
      return isUint(msg.nonce, U32_MAX) ? null : `${msg.type}.nonce must be a u32`;
    case 'FAULT':
      return inRange(msg.code, 1, 4) ? null : `FAULT.code must be 1..4, got ${msg.code}`;
    case 'ARM':
      return isUint(msg.seconds, 0xff) ? null : 'ARM.seconds must be 0..255';
    case 'PROMPT':
      return inRange(msg.prompt, 1, 4) ? null : `PROMPT.prompt must be 1..4, got ${msg.prompt}`;
    case 'SHOW_TEXT':
      return isUint(msg.line, 0xff) ? null : 'SHOW_TEXT.line must be 0..255';
    case 'SET_MODE':
      return inRange(msg.mode, 0, 2) ? null : `SET_MODE.mode must be 0..2, got ${msg.mode}`;
    case 'ACK':
      if (!isUint(msg.ackedSeq, 0xff)) return 'ACK.ackedSeq must be 0..255';
      return inRange(msg.status, 0, 2) ? null : `ACK.status must be 0..2, got ${msg.status}`;
    case 'NAK':
      if (!isUint(msg.seq, 0xff)) return 'NAK.seq must be 0..255';
      return inRange(msg.reason, 1, 4) ? null : `NAK.reason must be 1..4, got ${msg.reason}`;
    case 'SHOW_STAFF':
    case 'DISARM':
    case 'GET_INFO':
      return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

const utf8Encoder = new TextEncoder();

class Writer {
  private readonly bytes: number[] = [];

  u8(v: number): this {
    this.bytes.push(v & 0xff);
    return this;
  }

  u16(v: number): this {
    this.bytes.push(v & 0xff, (v >>> 8) & 0xff);
    return this;
  }

  u32(v: number): this {
    this.bytes.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
    return this;
  }

  raw(b: Uint8Array): this {
    for (const x of b) this.bytes.push(x);
    return this;
  }

  /** `u8 length` + UTF-8 bytes. */
  str(field: string, s: string): this {
    const b = utf8Encoder.encode(s);
    if (b.length > 0xff) throw new RangeError(`${field} is ${b.length} UTF-8 bytes, at most 255 fit`);
    return this.u8(b.length).raw(b);
  }

  done(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** Payload bytes of `msg`. Throws RangeError when a field is outside what EVP/1 allows. */
export function encodePayload(msg: Message): Uint8Array {
  const problem = ruleViolation(msg);
  if (problem) throw new RangeError(problem);
  const w = new Writer();
  switch (msg.type) {
    case 'HELLO':
      w.u8(msg.proto).u32(msg.bootId);
      w.str('HELLO.model', msg.model).str('HELLO.firmware', msg.firmware).str('HELLO.serial', msg.serial);
      return w.u16(msg.caps).done();
    case 'KEY':
      return w.u32(msg.pressId).u8(msg.key).u32(msg.uptimeMs).done();
    case 'PONG':
    case 'PING':
      return w.u32(msg.nonce).done();
    case 'FAULT':
      return w.u8(msg.code).str('FAULT.detail', msg.detail).done();
    case 'SHOW_STAFF':
      w.str('SHOW_STAFF.staffNo', msg.staffNo).str('SHOW_STAFF.name', msg.name);
      return w.str('SHOW_STAFF.window', msg.window).done();
    case 'ARM':
      return w.u8(msg.seconds).str('ARM.caseRef', msg.caseRef).done();
    case 'DISARM':
    case 'GET_INFO':
      return w.done();
    case 'PROMPT':
      return w.u8(msg.prompt).done();
    case 'SHOW_TEXT': {
      const bytes = msg.encoding === 'gbk' ? gbkEncode(msg.text) : utf8Encoder.encode(msg.text);
      if (bytes === null) throw new RangeError('SHOW_TEXT.text has characters GBK cannot encode');
      if (bytes.length > 0xff)
        throw new RangeError(`SHOW_TEXT.text is ${bytes.length} bytes, at most 255 fit`);
      return w
        .u8(msg.line)
        .u8(msg.encoding === 'gbk' ? 1 : 0)
        .u8(bytes.length)
        .raw(bytes)
        .done();
    }
    case 'SET_MODE':
      return w.u8(msg.mode).done();
    case 'ACK':
      return w.u8(msg.ackedSeq).u8(msg.status).done();
    case 'NAK':
      return w.u8(msg.seq).u8(msg.reason).done();
  }
}

/** A whole frame around any TYPE code and payload (tests use it for unknown types). */
export function buildFrame(seq: number, type: number, payload: Uint8Array): Uint8Array {
  if (!isUint(seq, 0xff)) throw new RangeError(`seq must be 0..255, got ${seq}`);
  if (!isUint(type, 0xff)) throw new RangeError(`type must be 0..255, got ${type}`);
  if (payload.length > MAX_PAYLOAD) throw new RangeError(`payload is ${payload.length} bytes, at most 256`);
  const frame = new Uint8Array(HEADER_SIZE + payload.length + CRC_SIZE);
  frame[0] = SOF0;
  frame[1] = SOF1;
  frame[2] = PROTOCOL_VERSION;
  frame[3] = seq;
  frame[4] = type;
  frame[5] = payload.length & 0xff;
  frame[6] = payload.length >>> 8;
  frame.set(payload, HEADER_SIZE);
  const crc = crc16(frame, 2, HEADER_SIZE + payload.length);
  frame[HEADER_SIZE + payload.length] = crc >>> 8;
  frame[HEADER_SIZE + payload.length + 1] = crc & 0xff;
  return frame;
}

export function encodeFrame(seq: number, msg: Message): Uint8Array {
  return buildFrame(seq, FrameType[msg.type], encodePayload(msg));
}

// ---------------------------------------------------------------------------------------------
// Decoding

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class BadPayload extends Error {}

class Reader {
  private readonly view: DataView;
  private pos = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly typeName: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number, field: string): void {
    if (this.pos + n > this.bytes.length)
      throw new BadPayload(`${this.typeName}.${field}: payload too short`);
  }

  u8(field: string): number {
    this.need(1, field);
    const v = this.view.getUint8(this.pos);
    this.pos += 1;
    return v;
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  bytesOf(n: number, field: string): Uint8Array {
    this.need(n, field);
    const b = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  str(field: string): string {
    const b = this.bytesOf(this.u8(field), field);
    try {
      return utf8Decoder.decode(b);
    } catch {
      throw new BadPayload(`${this.typeName}.${field}: invalid UTF-8`);
    }
  }

  end(): void {
    const left = this.bytes.length - this.pos;
    if (left !== 0) throw new BadPayload(`${this.typeName}: ${left} trailing byte(s)`);
  }
}

function readMessage(name: FrameTypeName, r: Reader): Message {
  switch (name) {
    case 'HELLO':
      return {
        type: 'HELLO',
        proto: r.u8('proto'),
        bootId: r.u32('bootId'),
        model: r.str('model'),
        firmware: r.str('firmware'),
        serial: r.str('serial'),
        caps: r.u16('caps'),
      };
    case 'KEY':
      return { type: 'KEY', pressId: r.u32('pressId'), key: r.u8('key') as Key, uptimeMs: r.u32('uptimeMs') };
    case 'PONG':
      return { type: 'PONG', nonce: r.u32('nonce') };
    case 'PING':
      return { type: 'PING', nonce: r.u32('nonce') };
    case 'FAULT':
      return { type: 'FAULT', code: r.u8('code'), detail: r.str('detail') };
    case 'SHOW_STAFF':
      return { type: 'SHOW_STAFF', staffNo: r.str('staffNo'), name: r.str('name'), window: r.str('window') };
    case 'ARM':
      return { type: 'ARM', seconds: r.u8('seconds'), caseRef: r.str('caseRef') };
    case 'DISARM':
      return { type: 'DISARM' };
    case 'GET_INFO':
      return { type: 'GET_INFO' };
    case 'PROMPT':
      return { type: 'PROMPT', prompt: r.u8('prompt') };
    case 'SET_MODE':
      return { type: 'SET_MODE', mode: r.u8('mode') };
    case 'SHOW_TEXT': {
      const line = r.u8('line');
      const enc = r.u8('encoding');
      if (enc !== 0 && enc !== 1) throw new BadPayload(`SHOW_TEXT.encoding must be 0 or 1, got ${enc}`);
      const bytes = r.bytesOf(r.u8('len'), 'text');
      let text: string | null;
      if (enc === 1) {
        text = gbkDecode(bytes);
      } else {
        try {
          text = utf8Decoder.decode(bytes);
        } catch {
          text = null;
        }
      }
      if (text === null) throw new BadPayload(`SHOW_TEXT.text: invalid ${enc === 1 ? 'GBK' : 'UTF-8'}`);
      return { type: 'SHOW_TEXT', line, encoding: enc === 1 ? 'gbk' : 'utf8', text };
    }
    case 'ACK':
      return { type: 'ACK', ackedSeq: r.u8('ackedSeq'), status: r.u8('status') };
    case 'NAK':
      return { type: 'NAK', seq: r.u8('seq'), reason: r.u8('reason') };
  }
}

/** Never throws: unknown TYPE ⇒ reason 2; short, trailing, invalid text or out-of-range ⇒ reason 4. */
export function decodePayload(type: number, payload: Uint8Array): DecodeResult {
  const name = frameTypeName(type);
  if (name === undefined) {
    return { ok: false, reason: NakReason.UNKNOWN_TYPE, detail: `unknown type 0x${hex2(type)}` };
  }
  try {
    const r = new Reader(payload, name);
    const message = readMessage(name, r);
    r.end();
    const problem = ruleViolation(message);
    if (problem) return { ok: false, reason: NakReason.BAD_PAYLOAD, detail: problem };
    return { ok: true, message };
  } catch (err) {
    const detail = err instanceof BadPayload ? err.message : `${name}: ${String(err)}`;
    return { ok: false, reason: NakReason.BAD_PAYLOAD, detail };
  }
}

export function decodeFrame(frame: Frame): DecodeResult {
  return decodePayload(frame.type, frame.payload);
}

// ---------------------------------------------------------------------------------------------
// Hex, for logs, the frame ring and fixtures

function hex2(b: number): string {
  return (b & 0xff).toString(16).padStart(2, '0').toUpperCase();
}

/** `A5 5A 01 …`: upper case, space separated, as in the protocol document. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, hex2).join(' ');
}

/** Parses hex with any whitespace; throws on odd length or a non-hex digit. */
export function fromHex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, '');
  if (digits.length % 2 !== 0 || /[^0-9a-fA-F]/.test(digits)) throw new Error(`not hex: ${text}`);
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  return out;
}
