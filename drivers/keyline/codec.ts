/**
 * KEYLINE: the cheap pads' protocol (pad-protocol.md, "Other devices"). ASCII lines `K1\r\n` …
 * `K5\r\n`; a bare `\n` also ends a line. No ACK, no liveness, no identity.
 *
 * `KeylineDecoder.push(bytes)` returns the keys those bytes complete. It never throws: a line
 * that is not exactly `K1`..`K5` (after dropping one trailing `\r`) is junk and counted; a line
 * longer than `MAX_LINE` bytes is junk too, and its bytes are discarded as they come, so the
 * buffer never holds more than `MAX_LINE` bytes whatever the input. Pure: no Node API.
 */

export const MAX_LINE = 32;
const LF = 0x0a;
const CR = 0x0d;
const K = 0x4b;
const ONE = 0x31;
const FIVE = 0x35;

export type KeylineKey = 1 | 2 | 3 | 4 | 5;

export interface KeylineCounters {
  /** Lines ended (valid or not). */
  lines: number;
  keys: number;
  junkLines: number;
  /** Bytes of junk lines (line ends included), each counted once. */
  droppedBytes: number;
}

/** The key a complete line (without its `\n`) names, or null for junk. */
export function parseKeyLine(line: Uint8Array): KeylineKey | null {
  const n = line.length > 0 && line[line.length - 1] === CR ? line.length - 1 : line.length;
  if (n !== 2 || line[0] !== K) return null;
  const d = line[1] as number;
  return d >= ONE && d <= FIVE ? ((d - ONE + 1) as KeylineKey) : null;
}

/** parseKeyLine on the first `len` bytes of `buf`, without a subarray per line. */
function parseBuffered(buf: Uint8Array, len: number): KeylineKey | null {
  const n = len > 0 && buf[len - 1] === CR ? len - 1 : len;
  if (n !== 2 || buf[0] !== K) return null;
  const d = buf[1] as number;
  return d >= ONE && d <= FIVE ? ((d - ONE + 1) as KeylineKey) : null;
}

/** `K<key>\r\n` as bytes. */
export function encodeKeyLine(key: KeylineKey): Uint8Array {
  if (!Number.isInteger(key) || key < 1 || key > 5) throw new RangeError(`key must be 1..5, got ${key}`);
  return new Uint8Array([K, ONE + key - 1, CR, LF]);
}

export class KeylineDecoder {
  private readonly buf = new Uint8Array(MAX_LINE);
  private len = 0;
  /** The current line is already too long: discard until its end. */
  private overflow = false;
  private overflowBytes = 0;
  readonly counters: KeylineCounters = { lines: 0, keys: 0, junkLines: 0, droppedBytes: 0 };

  /** Bytes held for an unfinished line. */
  get buffered(): number {
    return this.len;
  }

  push(bytes: Uint8Array): KeylineKey[] {
    const out: KeylineKey[] = [];
    const buf = this.buf;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i] as number;
      if (b === LF) {
        this.endLine(out);
      } else if (this.overflow) {
        this.overflowBytes++;
      } else if (this.len < MAX_LINE) {
        buf[this.len++] = b;
      } else {
        this.overflow = true;
        this.overflowBytes = this.len + 1;
        this.len = 0;
      }
    }
    return out;
  }

  /** Forgets an unfinished line (the port was reopened); its bytes count as dropped. */
  reset(): void {
    this.counters.droppedBytes += this.len + this.overflowBytes;
    this.len = 0;
    this.overflow = false;
    this.overflowBytes = 0;
  }

  private endLine(out: KeylineKey[]): void {
    this.counters.lines++;
    const key = this.overflow ? null : parseBuffered(this.buf, this.len);
    if (key === null) {
      this.counters.junkLines++;
      this.counters.droppedBytes += (this.overflow ? this.overflowBytes : this.len) + 1;
    } else {
      this.counters.keys++;
      out.push(key);
    }
    this.len = 0;
    this.overflow = false;
    this.overflowBytes = 0;
  }
}
