/**
 * A bearer secret kept in a file readable by its owner only (0600): the counter's window-API
 * token and the hub's admin token. Node-only: not re-exported from index.ts.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A file only its owner may read, made once by `make` (with `wx`, so two starts racing cannot each
 * write a different one) and read on every later start; a mode loosened since (a copy, an archive
 * restore) is tightened back to 0600 with a warning.
 */
export function loadOrCreatePrivateFile(
  dir: string,
  fileName: string,
  make: () => string,
): { text: string; path: string; created: boolean } {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, fileName);
  let created = false;
  if (!existsSync(path)) {
    try {
      writeFileSync(path, make(), { mode: 0o600, flag: 'wx' });
      created = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  if (process.platform !== 'win32') {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) {
      chmodSync(path, 0o600);
      process.emitWarning(`${path} was readable by others (mode ${mode.toString(8)}); set to 0600`);
    }
  }
  return { text: readFileSync(path, 'utf8'), path, created };
}

/** Made at first start (256 random bits, base64url), read again on every later start. */
export function loadOrCreateSecret(
  dir: string,
  fileName: string,
): { token: string; path: string; created: boolean } {
  const file = loadOrCreatePrivateFile(dir, fileName, () => `${randomBytes(32).toString('base64url')}\n`);
  const token = file.text.trim();
  if (token.length < 32)
    throw new Error(`${file.path} holds no usable token: delete it to have a new one made`);
  return { token, path: file.path, created: file.created };
}

/** Compares a presented token with the expected one in constant time (digests first: lengths may differ). */
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
