/**
 * GBK text for SHOW_TEXT. Decoding uses the platform's WHATWG `gbk` decoder (a GB18030 superset,
 * so it also accepts 4-byte sequences). There is no platform GBK encoder, so the encoder is built
 * lazily from that decoder by decoding every two-byte code once (~24k codes, a few ms), which
 * covers all of GBK with no library. Code points GBK cannot hold (emoji, rare CJK extensions) are
 * refused rather than silently replaced.
 */

let encodeTable: Map<number, number> | null = null;

function buildTable(): Map<number, number> {
  const decoder = new TextDecoder('gbk', { fatal: true });
  const table = new Map<number, number>();
  // WHATWG gbk maps the single byte 0x80 to the euro sign.
  try {
    const euro = decoder.decode(Uint8Array.of(0x80)).codePointAt(0);
    if (euro !== undefined) table.set(euro, 0x80);
  } catch {
    // a decoder without the euro mapping: 0x80 stays unencodable
  }
  const pair = new Uint8Array(2);
  for (let lead = 0x81; lead <= 0xfe; lead++) {
    for (let trail = 0x40; trail <= 0xfe; trail++) {
      if (trail === 0x7f) continue;
      pair[0] = lead;
      pair[1] = trail;
      let text: string;
      try {
        text = decoder.decode(pair);
      } catch {
        continue;
      }
      const cp = text.codePointAt(0);
      // First code wins, so the encoder is deterministic where the decoder maps two codes to one char.
      if (cp !== undefined && text.length <= 2 && !table.has(cp)) table.set(cp, (lead << 8) | trail);
    }
  }
  return table;
}

/** GBK bytes of `text`, or null when some character has no GBK code. */
export function gbkEncode(text: string): Uint8Array | null {
  encodeTable ??= buildTable();
  const out: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    if (cp < 0x80) {
      out.push(cp);
      continue;
    }
    const code = encodeTable.get(cp);
    if (code === undefined) return null;
    if (code < 0x100) out.push(code);
    else out.push(code >> 8, code & 0xff);
  }
  return Uint8Array.from(out);
}

const gbkDecoder = new TextDecoder('gbk', { fatal: true });

/** Text of GBK `bytes`, or null when they are not valid GBK. */
export function gbkDecode(bytes: Uint8Array): string | null {
  try {
    return gbkDecoder.decode(bytes);
  } catch {
    return null;
  }
}
