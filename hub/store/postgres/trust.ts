import { createHash } from 'node:crypto';
import type pg from 'pg';
import { newEnrollmentToken } from '../enrollment-token.ts';
import type { EnrolledDevice, EnrollmentTokenRecord, TrustStore } from '../types.ts';
import { guarded, transaction } from './pool.ts';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

const DEVICE_COLUMNS =
  'device_id, public_key, hall_id, window_id, app_version, enrolled_at, revoked_at, revoked_reason';

/** Device trust on PostgreSQL: the same rules as SqliteTrustStore (sqlite-trust.ts). */
export class PostgresTrustStore implements TrustStore {
  constructor(private readonly pool: pg.Pool) {}

  async createToken(
    hallId: string,
    windowId: string,
    ttlS: number,
    now: Date,
  ): Promise<EnrollmentTokenRecord> {
    const token = newEnrollmentToken();
    const expiresAt = new Date(now.getTime() + ttlS * 1000).toISOString();
    await guarded(() =>
      this.pool.query(
        'INSERT INTO enrollment_tokens (token_hash, hall_id, window_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)',
        [sha256(token), hallId, windowId, now.toISOString(), expiresAt],
      ),
    );
    return { token, hall_id: hallId, window_id: windowId, expires_at: expiresAt };
  }

  async enroll(
    input: { token: string; device_id: string; public_key: string; app_version: string },
    now: Date,
  ): Promise<{ ok: true; device: EnrolledDevice } | { ok: false; reason: 'token' | 'device_taken' }> {
    type Result = { ok: true; device: EnrolledDevice } | { ok: false; reason: 'token' | 'device_taken' };
    const refuse = (reason: 'token' | 'device_taken') => ({
      value: { ok: false, reason } as Result,
      rollback: true,
    });
    return guarded(() =>
      transaction(this.pool, async (client) => {
        // FOR UPDATE: two enrollments with one token wait for each other; the second sees it used.
        const { rows } = await client.query<{
          hall_id: string;
          window_id: string;
          expires_at: string;
          used_at: string | null;
        }>(
          'SELECT hall_id, window_id, expires_at, used_at FROM enrollment_tokens WHERE token_hash = $1 FOR UPDATE',
          [sha256(input.token)],
        );
        const row = rows[0];
        if (!row || row.used_at !== null || Date.parse(row.expires_at) <= now.getTime())
          return refuse('token');
        const taken = await client.query(
          'SELECT 1 FROM enrolled_devices WHERE device_id = $1 OR public_key = $2',
          [input.device_id, input.public_key],
        );
        // The same device re-enrolling with a new key would let a clone take over its stream (T7).
        if ((taken.rowCount ?? 0) > 0) return refuse('device_taken');
        const at = now.toISOString();
        await client.query('UPDATE enrollment_tokens SET used_at = $1, used_by = $2 WHERE token_hash = $3', [
          at,
          input.device_id,
          sha256(input.token),
        ]);
        // A concurrent enrollment of the same device or key under another token loses here.
        const inserted = await client.query(
          `INSERT INTO enrolled_devices (device_id, public_key, hall_id, window_id, app_version, enrolled_at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
          [input.device_id, input.public_key, row.hall_id, row.window_id, input.app_version, at],
        );
        if (inserted.rowCount !== 1) return refuse('device_taken');
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
        return { value: { ok: true, device } as Result };
      }),
    );
  }

  async device(deviceId: string): Promise<EnrolledDevice | null> {
    const { rows } = await guarded(() =>
      this.pool.query<EnrolledDevice>(`SELECT ${DEVICE_COLUMNS} FROM enrolled_devices WHERE device_id = $1`, [
        deviceId,
      ]),
    );
    return rows[0] ?? null;
  }

  async devices(): Promise<EnrolledDevice[]> {
    // n (insertion order) breaks ties the way SQLite's rowid order does.
    const { rows } = await guarded(() =>
      this.pool.query<EnrolledDevice>(
        `SELECT ${DEVICE_COLUMNS} FROM enrolled_devices ORDER BY enrolled_at, n`,
      ),
    );
    return rows;
  }

  async revoke(deviceId: string, reason: string, now: Date): Promise<boolean> {
    const result = await guarded(() =>
      this.pool.query(
        'UPDATE enrolled_devices SET revoked_at = $1, revoked_reason = $2 WHERE device_id = $3 AND revoked_at IS NULL',
        [now.toISOString(), reason, deviceId],
      ),
    );
    return result.rowCount === 1;
  }

  async spendNonce(
    deviceId: string,
    nonce: string,
    created: Date,
    now: Date,
    windowS: number,
  ): Promise<boolean> {
    return guarded(() =>
      transaction(this.pool, async (client) => {
        // Nonces older than twice the window cannot come back inside it: forget them.
        await client.query('DELETE FROM spent_nonces WHERE created_ms < $1', [
          now.getTime() - 2 * windowS * 1000,
        ]);
        const result = await client.query(
          'INSERT INTO spent_nonces (device_id, nonce, created_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
          [deviceId, nonce, created.getTime()],
        );
        return { value: result.rowCount === 1 };
      }),
    );
  }
}
