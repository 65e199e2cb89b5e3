import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WINDOW_API_TOKEN_FILE } from '../../../src-shared/index.ts';

/**
 * The terminal's window-API bearer token: generated at first start (256 random bits), kept in
 * the data directory readable by the counter's user only (0600), read again on every start.
 * IT gives it to the business and queue systems on the same PC.
 */
export function loadOrCreateToken(dataDir: string): { token: string; path: string; created: boolean } {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, WINDOW_API_TOKEN_FILE);
  let created = false;
  try {
    writeFileSync(path, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    created = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  if (process.platform !== 'win32') {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) {
      // Someone loosened it (a copy, an archive restore): tighten rather than serve with a readable token.
      chmodSync(path, 0o600);
      process.emitWarning(`${path} was readable by others (mode ${mode.toString(8)}); set to 0600`);
    }
  }
  const token = readFileSync(path, 'utf8').trim();
  if (token.length < 32) throw new Error(`${path} holds no usable token: delete it to have a new one made`);
  return { token, path, created };
}

/** Compares a presented token with the terminal's in constant time (digests first: lengths may differ). */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token from an `Authorization: Bearer …` header, or undefined. */
export function bearerOf(header: string | undefined): string | undefined {
  const m = /^Bearer ([!-~]+)$/i.exec(header ?? '');
  return m?.[1];
}
