import type Database from 'better-sqlite3';
import { type ConfigVersionRow, configFromRow, configVersionRow } from './rows.ts';
import type { ConfigStore, StoredConfigVersion } from './types.ts';

/** Config bundle versions on the hub's SQLite file (migration 5): append-only, one row a version. */
export class SqliteConfigStore implements ConfigStore {
  /** Prepared once: every heartbeat reads the newest version (server.ts, configVersionOf). */
  private readonly historyStmt: Database.Statement<[number], Omit<StoredConfigVersion, 'content'>>;

  constructor(private readonly db: Database.Database) {
    this.historyStmt = db.prepare(
      'SELECT seq, version, issued_at, content_sha256 FROM config_versions ORDER BY seq DESC LIMIT ?',
    );
  }

  async publish(content: unknown, issuedAt: Date): Promise<StoredConfigVersion> {
    return this.db.transaction(() => {
      // In the same transaction as the insert: two publishes cannot take the same seq.
      const last = this.db.prepare('SELECT MAX(seq) AS seq FROM config_versions').get() as {
        seq: number | null;
      };
      const seq = (last.seq ?? 0) + 1;
      const row = configVersionRow(seq, content, issuedAt);
      this.db
        .prepare(
          'INSERT INTO config_versions (seq, version, issued_at, content, content_sha256) VALUES (@seq, @version, @issued_at, @content, @content_sha256)',
        )
        .run(row);
      return configFromRow(row);
    })();
  }

  async current(): Promise<StoredConfigVersion | null> {
    const row = this.db.prepare('SELECT * FROM config_versions ORDER BY seq DESC LIMIT 1').get() as
      | ConfigVersionRow
      | undefined;
    return row ? configFromRow(row) : null;
  }

  async history(limit: number): Promise<Omit<StoredConfigVersion, 'content'>[]> {
    return this.historyStmt.all(limit);
  }
}
