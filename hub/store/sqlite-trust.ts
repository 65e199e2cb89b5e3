import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { newEnrollmentToken } from './enrollment-token.ts';
import { sqliteGuard, withoutOwnFsync } from './sqlite-guard.ts';
import type { EnrolledDevice, EnrollmentTokenRecord, TrustStore } from './types.ts';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A nonce spent but not yet written (see spendNonce). */
interface UnwrittenNonce {
  deviceId: string;
  nonce: string;
  createdMs: number;
}

/** Device trust on the hub's SQLite file (migration 3): tokens, device keys, spent nonces. */
export class SqliteTrustStore implements TrustStore {
  private readonly stmt;
  /** Nonces spent and not yet written, written together once this turn of the event loop ends. */
  private unwritten = new Map<string, UnwrittenNonce>();
  private writeScheduled = false;
  /** When spent nonces were last forgotten (ms): at most once a second, not on every request. */
  private forgotAt = 0;
  private windowMs = 0;
  /** The hub's clock at the latest spend (the hub's clock may be injected): what writes go by. */
  private nowMs = 0;

  constructor(private readonly db: Database.Database) {
    // Prepared once: device() and spendNonce() run on every signed request.
    this.stmt = {
      device: db.prepare<[string], EnrolledDevice>('SELECT * FROM enrolled_devices WHERE device_id = ?'),
      forgetNonces: db.prepare<[number]>('DELETE FROM spent_nonces WHERE created_ms < ?'),
      spendNonce: db.prepare<[string, string, number]>(
        'INSERT INTO spent_nonces (device_id, nonce, created_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      spent: db.prepare<[string, string], { one: number }>(
        'SELECT 1 AS one FROM spent_nonces WHERE device_id = ? AND nonce = ?',
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

  /**
   * Spends a nonce: true the first time, false ever after. Checked and marked in one synchronous
   * step (a read of the table and of the nonces not yet written), so two requests with the same
   * nonce can never both pass; written with every other nonce spent in this turn of the event loop
   * in one transaction, instead of a transaction per signed request (at 400 requests a second,
   * those transactions were 8 % of the hub's event loop). Without an fsync of its own, as before:
   * the group commit's WAL fsync, or the next one, makes them durable; a power cut can forget
   * only the last moments' nonces, and a batch replayed into that gap is stored once anyway.
   */
  async spendNonce(
    deviceId: string,
    nonce: string,
    created: Date,
    now: Date,
    windowS: number,
  ): Promise<boolean> {
    return sqliteGuard(this.db, () => {
      if (this.stmt.spent.get(deviceId, nonce)) return false;
      const key = `${deviceId}\n${nonce}`;
      if (this.unwritten.has(key)) return false;
      this.unwritten.set(key, { deviceId, nonce, createdMs: created.getTime() });
      this.windowMs = windowS * 1000;
      this.nowMs = now.getTime();
      if (!this.writeScheduled) {
        this.writeScheduled = true;
        setImmediate(() => this.writeNonces());
      }
      return true;
    });
  }

  /** Writes the nonces spent since the last write (see spendNonce); close() calls it too. */
  writeNonces(): void {
    this.writeScheduled = false;
    const nowMs = this.nowMs;
    const batch = this.unwritten;
    if (batch.size === 0 || !this.db.open) return;
    try {
      sqliteGuard(this.db, () =>
        withoutOwnFsync(this.db, () =>
          this.db.transaction(() => {
            // Nonces older than twice the window cannot come back inside it: forget them.
            if (nowMs - this.forgotAt >= 1000) {
              this.stmt.forgetNonces.run(nowMs - 2 * this.windowMs);
              this.forgotAt = nowMs;
            }
            for (const u of batch.values()) this.stmt.spendNonce.run(u.deviceId, u.nonce, u.createdMs);
          })(),
        ),
      );
      this.unwritten = new Map();
    } catch {
      // Kept in memory (still refused as spent) and written with the next ones.
      if (!this.writeScheduled) {
        this.writeScheduled = true;
        setTimeout(() => this.writeNonces(), 1000).unref();
      }
    }
  }
}
