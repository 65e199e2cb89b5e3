/**
 * Reads the hex-commented byte streams in fixtures/pads/ (format described at the top of
 * fixtures/pads/evp1-vectors.hex), shared by codec, link and simulator tests.
 */

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fromHex } from '../../drivers/evp1/frames.ts';

const FIXTURES = fileURLToPath(new URL('../../fixtures/pads/', import.meta.url));

export function readHexFixture(file: string): Map<string, Uint8Array> {
  const blocks = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const rawLine of readFileSync(FIXTURES + file, 'utf8').split('\n')) {
    const line = rawLine.replace(/#.*/, '').trim();
    if (!line) continue;
    if (line.startsWith('@')) {
      current = [];
      blocks.set(line.slice(1).trim(), current);
    } else if (current) {
      current.push(line);
    } else {
      throw new Error(`${file}: bytes before the first @name`);
    }
  }
  return new Map([...blocks].map(([name, lines]) => [name, fromHex(lines.join(' '))]));
}

/** One named block; throws when it is missing, so a renamed fixture fails loudly. */
export function hexBlock(file: string, name: string): Uint8Array {
  const bytes = readHexFixture(file).get(name);
  if (!bytes) throw new Error(`${file}: no block @${name}`);
  return bytes;
}
