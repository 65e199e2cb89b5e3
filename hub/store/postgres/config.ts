import type pg from 'pg';
import { type ConfigVersionRow, configFromRow, configVersionRow } from '../rows.ts';
import type { ConfigStore, StoredConfigVersion } from '../types.ts';
import { LOCK_CLASS } from './migrations.ts';
import { guarded, transaction } from './pool.ts';

/** Serializes publishes: the next seq is read and written in one transaction under this lock. */
const LOCK_CONFIG = 3;

/** Config bundle versions on PostgreSQL (migration 5): the same rules as SqliteConfigStore. */
export class PostgresConfigStore implements ConfigStore {
  constructor(private readonly pool: pg.Pool) {}

  async publish(content: unknown, issuedAt: Date): Promise<StoredConfigVersion> {
    return guarded(() =>
      transaction(this.pool, async (client) => {
        // Two publishes at once must not read the same MAX(seq): READ COMMITTED alone would let them.
        await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_CLASS, LOCK_CONFIG]);
        const { rows } = await client.query<{ seq: number | null }>(
          'SELECT max(seq) AS seq FROM config_versions',
        );
        const seq = (rows[0]?.seq ?? 0) + 1;
        const row = configVersionRow(seq, content, issuedAt);
        await client.query(
          'INSERT INTO config_versions (seq, version, issued_at, content, content_sha256) VALUES ($1, $2, $3, $4, $5)',
          [row.seq, row.version, row.issued_at, row.content, row.content_sha256],
        );
        return { value: configFromRow(row) };
      }),
    );
  }

  async current(): Promise<StoredConfigVersion | null> {
    const { rows } = await guarded(() =>
      this.pool.query<ConfigVersionRow>(
        'SELECT seq, version, issued_at, content, content_sha256 FROM config_versions ORDER BY seq DESC LIMIT 1',
      ),
    );
    return rows[0] ? configFromRow(rows[0]) : null;
  }

  async history(limit: number): Promise<Omit<StoredConfigVersion, 'content'>[]> {
    const { rows } = await guarded(() =>
      this.pool.query<Omit<StoredConfigVersion, 'content'>>(
        'SELECT seq, version, issued_at, content_sha256 FROM config_versions ORDER BY seq DESC LIMIT $1',
        [limit],
      ),
    );
    return rows;
  }
}
