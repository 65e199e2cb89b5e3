import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { newEnrollmentToken } from './enrollment-token.ts';
import { sqliteGuard, withoutOwnFsync } from './sqlite-guard.ts';
import type { EnrolledDevice, EnrollmentTokenRecord, TrustStore } from './types.ts';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Device trust on the hub's SQLite file (migration 3): tokens, device keys, spent nonces. */
export class SqliteTrustStore implements TrustStore {
  private readonly stmt;

  constructor(private readonly db: Database.Database) {
    // Prepared once: device() and spendNonce() run on every signed request.
    this.stmt = {
      device: db.prepare<[string], EnrolledDevice>('SELECT * FROM enrolled_devices WHERE device_id = ?'),
      forgetNonces: db.prepare<[number]>('DELETE FROM spent_nonces WHERE created_ms < ?'),
      spendNonce: db.prepare<[string, string, number]>(
        'INSERT INTO spent_nonces (device_id, nonce, created_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      ),
    };
  }

  async createToken(
    hallId: string,
    windowId: string,
    ttlS: number,
    now: Date,
  ): Promise<EnrollmentTokenRecord> {
    const token = newEnrollmentToken();
    const expiresAt = new Date(now.getTime() + ttlS * 1000).toISOString();
    sqliteGuard(this.db, () =>
      this.db
        .prepare(
          'INSERT INTO enrollment_tokens (token_hash, hall_id, window_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)',
        )
        .run(sha256(token), hallId, windowId, now.toISOString(), expiresAt),
    );
    return { token, hall_id: hallId, window_id: windowId, expires_at: expiresAt };
  }

  async enroll(
    input: { token: string; device_id: string; public_key: string; app_version: string },
    now: Date,
  ): Promise<{ ok: true; device: EnrolledDevice } | { ok: false; reason: 'token' | 'device_taken' }> {
    return sqliteGuard(this.db, () => this.enrollTx(input, now));
  }

  private enrollTx(
    input: { token: string; device_id: string; public_key: string; app_version: string },
    now: Date,
  ): { ok: true; device: EnrolledDevice } | { ok: false; reason: 'token' | 'device_taken' } {
    return this.db.transaction(() => {
      const row = this.db
        .prepare('SELECT hall_id, window_id, expires_at, used_at FROM enrollment_tokens WHERE token_hash = ?')
        .get(sha256(input.token)) as
        | { hall_id: string; window_id: string; expires_at: string; used_at: string | null }
        | undefined;
      if (!row || row.used_at !== null || Date.parse(row.expires_at) <= now.getTime())
        return { ok: false as const, reason: 'token' as const };
      const existing = this.db
        .prepare('SELECT public_key FROM enrolled_devices WHERE device_id = ?')
        .get(input.device_id) as { public_key: string } | undefined;
      // The same device re-enrolling with a new key would let a clone take over its stream (T7).
      if (existing) return { ok: false as const, reason: 'device_taken' as const };
      const keyTaken = this.db
        .prepare('SELECT 1 FROM enrolled_devices WHERE public_key = ?')
        .get(input.public_key);
      if (keyTaken) return { ok: false as const, reason: 'device_taken' as const };
      const at = now.toISOString();
      this.db
        .prepare('UPDATE enrollment_tokens SET used_at = ?, used_by = ? WHERE token_hash = ?')
        .run(at, input.device_id, sha256(input.token));
      this.db
        .prepare(
          `INSERT INTO enrolled_devices (device_id, public_key, hall_id, window_id, app_version, enrolled_at)
           VALUES (?, ?, ?, ?, ?, ?)`,
        )
        .run(input.device_id, input.public_key, row.hall_id, row.window_id, input.app_version, at);
      const device: EnrolledDevice = {
        device_id: input.device_id,
        public_key: input.public_key,
        hall_id: row.hall_id,
        window_id: row.window_id,
        app_version: input.app_version,
        enrolled_at: at,
        revoked_at: null,
        revoked_reason: null,
      };
      return { ok: true as const, device };
    })();
  }

  async device(deviceId: string): Promise<EnrolledDevice | null> {
    return sqliteGuard(this.db, () => this.stmt.device.get(deviceId) ?? null);
  }

  async devices(): Promise<EnrolledDevice[]> {
    return sqliteGuard(
      this.db,
      () => this.db.prepare('SELECT * FROM enrolled_devices ORDER BY enrolled_at').all() as EnrolledDevice[],
    );
  }

  async revoke(deviceId: string, reason: string, now: Date): Promise<boolean> {
    return sqliteGuard(
      this.db,
      () =>
        this.db
          .prepare(
            'UPDATE enrolled_devices SET revoked_at = ?, revoked_reason = ? WHERE device_id = ? AND revoked_at IS NULL',
          )
          .run(now.toISOString(), reason, deviceId).changes === 1,
    );
  }

  async spendNonce(
    deviceId: string,
    nonce: string,
    created: Date,
    now: Date,
    windowS: number,
  ): Promise<boolean> {
    // Without an fsync of its own: every signed request spends a nonce, and an fsync each would
    // block the hub's only thread hundreds of times a second. A power cut can forget only the last
    // moments' nonces, and a batch replayed into that gap is stored once anyway (dedup).
    return sqliteGuard(this.db, () =>
      withoutOwnFsync(this.db, () =>
        this.db.transaction(() => {
          // Nonces older than twice the window cannot come back inside it: forget them.
          this.stmt.forgetNonces.run(now.getTime() - 2 * windowS * 1000);
          return this.stmt.spendNonce.run(deviceId, nonce, created.getTime()).changes === 1;
        })(),
      ),
    );
  }
}
