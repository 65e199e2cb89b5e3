import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { configVersionName } from '../../src-shared/config-bundle.ts';
import { canonicalJson } from '../../src-shared/index.ts';
import type { ConfigStore, StoredConfigVersion } from './types.ts';

interface Row {
  seq: number;
  version: string;
  issued_at: string;
  content: string;
  content_sha256: string;
}

/** Config bundle versions on the hub's SQLite file (migration 5): append-only, one row a version. */
export class SqliteConfigStore implements ConfigStore {
  constructor(private readonly db: Database.Database) {}

  async publish(content: unknown, issuedAt: Date): Promise<StoredConfigVersion> {
    const text = canonicalJson(content);
    const sha = createHash('sha256').update(text).digest('hex');
    return this.db.transaction(() => {
      // In the same transaction as the insert: two publishes cannot take the same seq.
      const last = this.db.prepare('SELECT MAX(seq) AS seq FROM config_versions').get() as {
        seq: number | null;
      };
      const seq = (last.seq ?? 0) + 1;
      const row: Row = {
        seq,
        version: configVersionName(seq, issuedAt),
        issued_at: issuedAt.toISOString(),
        content: text,
        content_sha256: sha,
      };
      this.db
        .prepare(
          'INSERT INTO config_versions (seq, version, issued_at, content, content_sha256) VALUES (@seq, @version, @issued_at, @content, @content_sha256)',
        )
        .run(row);
      return fromRow(row);
    })();
  }

  async current(): Promise<StoredConfigVersion | null> {
    const row = this.db.prepare('SELECT * FROM config_versions ORDER BY seq DESC LIMIT 1').get() as
      | Row
      | undefined;
    return row ? fromRow(row) : null;
  }

  async history(limit: number): Promise<Omit<StoredConfigVersion, 'content'>[]> {
    return this.db
      .prepare(
        'SELECT seq, version, issued_at, content_sha256 FROM config_versions ORDER BY seq DESC LIMIT ?',
      )
      .all(limit) as Omit<StoredConfigVersion, 'content'>[];
  }
}

function fromRow(row: Row): StoredConfigVersion {
  return {
    seq: row.seq,
    version: row.version,
    issued_at: row.issued_at,
    content: JSON.parse(row.content),
    content_sha256: row.content_sha256,
  };
}
