import { randomBytes } from 'node:crypto';

/**
 * A new enrollment token: 24 random bytes in base64url, 32 characters, easy to type from a
 * QR-less screen. Never starting with "-": IT pastes it after `--token`, and a command line
 * would read "-xyz…" as an option (1 token in 64 would fail).
 */
export function newEnrollmentToken(): string {
  for (;;) {
    const token = randomBytes(24).toString('base64url');
    if (!token.startsWith('-')) return token;
  }
}
