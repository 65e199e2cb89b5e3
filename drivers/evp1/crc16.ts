/** CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, xorout 0 (EVP/1 frame checksum). */

const TABLE: Uint16Array = (() => {
  const table = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n << 8;
    for (let bit = 0; bit < 8; bit++) {
      c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    }
    table[n] = c;
  }
  return table;
})();

/** CRC over `data[start..end)`; `init` lets a caller continue a running CRC. */
export function crc16(data: Uint8Array, start = 0, end = data.length, init = 0xffff): number {
  let crc = init & 0xffff;
  for (let i = start; i < end; i++) {
    // biome-ignore lint/style/noNonNullAssertion: index is within 0..255 by construction
    crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ (data[i] as number)) & 0xff]!;
  }
  return crc;
}
