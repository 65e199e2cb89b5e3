import type pg from 'pg';
import {
  type AnyRatingRecord,
  type ClockAnchor,
  canonicalJson,
  GENESIS_HASH,
  type IngestReply,
} from '../../../src-shared/index.ts';
import { type ChainLink, isDeadLetterItem, planIngest, verifyHashes } from '../../ingest-rules.ts';
import {
  correctedFields,
  pageRequest,
  type StatsCountSqlRow,
  statsCountRow,
  withHubFields,
} from '../rows.ts';
import { fromRow, toRow } from '../sqlite.ts';
import {
  type DeadLetterPage,
  type DeviceCursor,
  type HubIngestBatch,
  type HubStore,
  type IngestOptions,
  type IngestOutcome,
  type ListRatingsOptions,
  type RatingPage,
  type StatsCountRow,
  type StoreSummary,
  StoreUnavailableError,
} from '../types.ts';
import { PostgresConfigStore } from './config.ts';
import { anchorsOfBoot, PostgresFleetStore } from './fleet.ts';
import { LOCK_CLASS, LOCK_PARTITION, migratePg, type PgMigrationReport } from './migrations.ts';
import { guarded, isUnavailable, makePool, transaction } from './pool.ts';
import { PostgresTrustStore } from './trust.ts';

/** A PostgreSQL URL as `--db` takes it. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/** Connects, migrates (throws when the database cannot be reached), and returns the store. */
export async function openPostgresHubStore(url: string): Promise<PostgresHubStore> {
  const pool = makePool(url);
  try {
    const client = await pool.connect();
    let migration: PgMigrationReport;
    try {
      migration = await migratePg(client);
    } finally {
      client.release();
    }
    return new PostgresHubStore(pool, migration);
  } catch (error) {
    await pool.end().catch(() => undefined);
    if (isUnavailable(error)) {
      throw new StoreUnavailableError(`cannot reach the hub database: ${(error as Error).message}`, {
        cause: error,
      });
    }
    throw error;
  }
}

/** Ratings columns with their array types, for one INSERT … SELECT FROM unnest(…) per batch. */
const RATING_COLUMNS: readonly (readonly [string, string])[] = [
  ['id', 'bigint'],
  ['event_id', 'text'],
  ['device_id', 'text'],
  ['seq', 'bigint'],
  ['rec_version', 'smallint'],
  ['outcome', 'text'],
  ['level', 'smallint'],
  ['channel', 'integer'],
  ['case_ref', 'text'],
  ['item_code', 'text'],
  ['item_name', 'text'],
  ['case_status', 'text'],
  ['accepted_at', 'text'],
  ['finished_at', 'text'],
  ['assess_number', 'integer'],
  ['reasons', 'text'],
  ['reason_status', 'text'],
  ['reason_dict_version', 'text'],
  ['dimensions', 'text'],
  ['free_text', 'text'],
  ['rater_type', 'text'],
  ['anonymous', 'smallint'],
  ['rater', 'text'],
  ['signals', 'text'],
  ['staff_no', 'text'],
  ['staff_name', 'text'],
  ['window_id', 'text'],
  ['hall_id', 'text'],
  ['dept_id', 'text'],
  ['config_version', 'text'],
  ['opened_at', 'text'],
  ['rated_at', 'text'],
  ['mono_ms', 'double precision'],
  ['app_boot_id', 'text'],
  ['source', 'text'],
  ['pad_boot_id', 'bigint'],
  ['pad_press_id', 'bigint'],
  ['pad_key', 'integer'],
  ['prev_hash', 'text'],
  ['hash', 'text'],
  ['verbatim', 'text'],
  ['received_at', 'text'],
  ['day', 'date'],
  ['rated_ms', 'bigint'],
  ['flagged', 'smallint'],
  ['is_default', 'smallint'],
  ['corrected_at', 'text'],
  ['hub_signals', 'text'],
];
const READ_COLUMNS = [
  // The record's own columns, then the hub's corrected time and signals, given back beside it.
  ...RATING_COLUMNS.map(([c]) => c).filter((c) => !['day', 'rated_ms', 'flagged', 'is_default'].includes(c)),
].join(', ');
const INSERT_RATINGS = `INSERT INTO ratings (${RATING_COLUMNS.map(([c]) => c).join(', ')})
  SELECT * FROM unnest(${RATING_COLUMNS.map(([, t], i) => `$${i + 1}::${t}[]`).join(', ')})`;

/** Retries of a batch that lost a deadlock or serialization race (SQLSTATE 40P01/40001). */
const RACE_RETRIES = 3;

export class PostgresHubStore implements HubStore {
  readonly trust: PostgresTrustStore;
  readonly configs: PostgresConfigStore;
  readonly fleet: PostgresFleetStore;
  /** Months whose partition is known to exist (committed); others are checked in the transaction. */
  private readonly months = new Set<string>();
  private closed = false;

  constructor(
    /** Exposed for tests and diagnostics; other code goes through the HubStore methods. */
    readonly pool: pg.Pool,
    readonly migration: PgMigrationReport,
  ) {
    this.trust = new PostgresTrustStore(pool);
    this.configs = new PostgresConfigStore(pool);
    this.fleet = new PostgresFleetStore(pool);
  }

  async ingest(batch: HubIngestBatch, receivedAt: Date, options: IngestOptions = {}): Promise<IngestOutcome> {
    const bad = options.hashesVerified ? null : verifyHashes(batch);
    if (bad) return { ok: false, rejection: bad };
    const now = receivedAt.toISOString();
    for (let attempt = 1; ; attempt++) {
      try {
        const made: string[] = [];
        const outcome = await transaction(this.pool, async (client) => {
          const value = await this.ingestIn(client, batch, now, made);
          return { value, rollback: !value.ok };
        });
        for (const m of made) this.months.add(m);
        return outcome;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if ((code === '40P01' || code === '40001') && attempt < RACE_RETRIES) continue;
        throw this.mapError(error);
      }
    }
  }

  private async ingestIn(
    client: pg.PoolClient,
    batch: HubIngestBatch,
    now: string,
    madeMonths: string[],
  ): Promise<IngestOutcome> {
    const deviceId = pgText(batch.device_id);
    // The device row is the per-device lock: a new device's placeholder (rolled back on rejection)
    // makes a concurrent batch of the same device wait on the unique key, then see this one's result.
    const created = await client.query(
      `INSERT INTO devices (device_id, last_seq, last_hash, first_seen, last_seen)
       VALUES ($1, 0, $2, $3, $3) ON CONFLICT DO NOTHING`,
      [deviceId, GENESIS_HASH, now],
    );
    let head = { seq: 0, hash: GENESIS_HASH };
    if (created.rowCount !== 1) {
      const { rows } = await client.query<{ last_seq: number; last_hash: string }>(
        'SELECT last_seq, last_hash FROM devices WHERE device_id = $1 FOR UPDATE',
        [deviceId],
      );
      const row = rows[0];
      if (row) head = { seq: row.last_seq, hash: row.last_hash };
    }
    const first = batch.items[0]?.seq ?? 1;
    const last = batch.items.at(-1)?.seq ?? 0;
    const held = new Map<number, ChainLink>();
    if (first <= head.seq) {
      const { rows } = await client.query<ChainLink & { seq: number }>(
        `SELECT seq, event_id, hash, NULL AS dead_letter FROM rating_keys
           WHERE device_id = $1 AND seq BETWEEN $2 AND $3
         UNION ALL
         SELECT seq, event_id, hash, NULL FROM chain_aliases WHERE device_id = $1 AND seq BETWEEN $2 AND $3
         UNION ALL
         SELECT seq, event_id, hash, reason FROM dead_letters WHERE device_id = $1 AND seq BETWEEN $2 AND $3`,
        [deviceId, first, Math.min(last, head.seq)],
      );
      for (const row of rows)
        held.set(row.seq, { event_id: row.event_id, hash: row.hash, dead_letter: row.dead_letter });
    }
    const plan = planIngest(batch, head, (seq) => held.get(seq));
    if (!plan.ok) return plan;

    const tail = plan.fresh.at(-1);
    await client.query(
      'UPDATE devices SET last_seq = $2, last_hash = $3, last_seen = $4 WHERE device_id = $1',
      [deviceId, tail ? tail.seq : head.seq, tail ? tail.hash : head.hash, now],
    );
    const items: IngestReply['items'] = [...plan.knownStatus];
    let stored = 0;
    const deadItems = plan.fresh.filter(isDeadLetterItem);
    const records = plan.fresh.filter((item): item is AnyRatingRecord => !isDeadLetterItem(item));
    const status = new Map<number, IngestReply['items'][number]>();
    if (deadItems.length > 0) {
      // Kept verbatim with their reason; the cursor moves past them (decisions.md "Dead letters").
      await client.query(
        `INSERT INTO dead_letters (device_id, seq, event_id, hash, reason, record, received_at)
         SELECT d, s, e, h, r, j, $7::text
         FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[])
           WITH ORDINALITY AS u (d, s, e, h, r, j, ord)
         ORDER BY ord`,
        [
          deadItems.map((d) => pgText(d.device_id)),
          deadItems.map((d) => d.seq),
          deadItems.map((d) => pgText(d.event_id)),
          deadItems.map((d) => pgText(d.hash)),
          deadItems.map((d) => pgText(d.reason)),
          deadItems.map((d) => canonicalJson(d.raw)),
          now,
        ],
      );
      for (const d of deadItems) status.set(d.seq, { seq: d.seq, status: 'dead_letter', reason: d.reason });
    }
    if (records.length > 0) {
      const rows = records.map((record) => toPgRow(record, now));
      // Corrected at insert when the boot has anchors: no update of the fresh rows afterwards (a
      // boot without one is corrected by the heartbeat that brings its first anchor).
      const anchorsOf = new Map<string, ClockAnchor[]>();
      for (const boot of new Set(rows.map((r) => r.app_boot_id)))
        anchorsOf.set(boot, await anchorsOfBoot(client, deviceId, boot));
      for (const row of rows) {
        const fields = correctedFields(anchorsOf.get(row.app_boot_id) ?? [], row.mono_ms, row.accepted_at);
        if (!fields) continue;
        row.corrected_at = fields.corrected_at;
        row.hub_signals = fields.hub_signals;
        if (fields.flagged) row.flagged = 1;
      }
      // Partitions before any insert: creating one locks the parent table, and a transaction that
      // already holds a lock on it while waiting for another would deadlock.
      madeMonths.push(
        ...(await this.ensurePartitions(
          client,
          rows.map((r) => r.day),
        )),
      );
      const keys = await client.query<{ id: number; seq: number }>(
        `INSERT INTO rating_keys (device_id, seq, event_id, hash, day)
         SELECT device_id, seq, event_id, hash, day
         FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::date[])
           WITH ORDINALITY AS u (device_id, seq, event_id, hash, day, ord)
         ORDER BY ord
         ON CONFLICT DO NOTHING
         RETURNING id, seq`,
        [
          rows.map((r) => r.device_id),
          rows.map((r) => r.seq),
          rows.map((r) => r.event_id),
          rows.map((r) => r.hash),
          rows.map((r) => r.day),
        ],
      );
      const ids = new Map(keys.rows.map((k) => [k.seq, k.id]));
      const fresh = rows.filter((r) => ids.has(r.seq));
      // Only the event_id can collide (seq is above the cursor): the rating is already counted, but
      // the link is kept so the device's chain stays complete.
      const aliases = rows.filter((r) => !ids.has(r.seq));
      if (fresh.length > 0) {
        await client.query(
          INSERT_RATINGS,
          RATING_COLUMNS.map(([c]) =>
            fresh.map((r) => (c === 'id' ? ids.get(r.seq) : (r as unknown as Record<string, unknown>)[c])),
          ),
        );
      }
      if (aliases.length > 0) {
        await client.query(
          `INSERT INTO chain_aliases (device_id, seq, event_id, hash, received_at)
           SELECT *, $5::text FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[])
           ON CONFLICT DO NOTHING`,
          [
            aliases.map((r) => r.device_id),
            aliases.map((r) => r.seq),
            aliases.map((r) => r.event_id),
            aliases.map((r) => r.hash),
            now,
          ],
        );
      }
      for (const r of rows) {
        const inserted = ids.has(r.seq);
        stored += inserted ? 1 : 0;
        status.set(r.seq, { seq: r.seq, status: inserted ? 'stored' : 'duplicate' });
      }
    }
    for (const item of plan.fresh) {
      const s = status.get(item.seq);
      if (s) items.push(s);
    }
    return {
      ok: true,
      reply: { ack_through_seq: tail ? tail.seq : head.seq, items, server_time: now },
      stored,
      duplicates: items.length - stored - deadItems.length,
      dead_letters: deadItems.length,
    };
  }

  /**
   * Makes the month partitions the days need, idempotently: under one advisory lock (so two
   * transactions never race on the same CREATE), re-checking inside it. A month whose rows already
   * sit in the DEFAULT partition is left there (creating it would fail on them). Returns the months
   * now present, for the cache once the transaction commits.
   */
  private async ensurePartitions(client: pg.PoolClient, days: string[]): Promise<string[]> {
    const wanted = [...new Set(days.map((d) => d.slice(0, 7)))].filter((m) => !this.months.has(m)).sort();
    if (wanted.length === 0) return [];
    const present = async () => {
      const { rows } = await client.query<{ name: string }>(
        'SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(name) IS NOT NULL',
        [wanted.map(partitionName)],
      );
      const names = new Set(rows.map((r) => r.name));
      return new Set(wanted.filter((m) => names.has(partitionName(m))));
    };
    let have = await present();
    if (wanted.some((m) => !have.has(m))) {
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_CLASS, LOCK_PARTITION]);
      have = await present();
      for (const month of wanted.filter((m) => !have.has(m))) {
        const { from, to } = monthBounds(month);
        const { rows } = await client.query(
          'SELECT 1 FROM ratings_default WHERE day >= $1::date AND day < $2::date LIMIT 1',
          [from, to],
        );
        if (rows.length > 0) continue;
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${partitionName(month)} PARTITION OF ratings FOR VALUES FROM ('${from}') TO ('${to}')`,
        );
        have.add(month);
      }
    }
    return [...have];
  }

  async deviceCursor(deviceId: string): Promise<DeviceCursor | null> {
    return this.run(async () => {
      const { rows } = await this.pool.query<DeviceCursor>(
        'SELECT device_id, last_seq, last_hash, first_seen, last_seen FROM devices WHERE device_id = $1',
        [pgText(deviceId)],
      );
      return rows[0] ?? null;
    });
  }

  async statsCounts(from: string, to: string): Promise<StatsCountRow[]> {
    return this.run(async () => {
      // COLLATE "C" and NULLS FIRST: the same order as SQLite's (bytewise text, NULL lowest).
      const { rows } = await this.pool.query<StatsCountSqlRow>(
        `SELECT to_char(day, 'YYYY-MM-DD') AS day, hall_id, window_id, outcome, level, flagged, is_default,
                count(*)::int AS count
         FROM ratings WHERE day BETWEEN $1::date AND $2::date
         GROUP BY day, hall_id, window_id, outcome, level, flagged, is_default
         ORDER BY day, hall_id COLLATE "C", window_id COLLATE "C", outcome COLLATE "C", level NULLS FIRST,
                  flagged, is_default`,
        [from, to],
      );
      return rows.map(statsCountRow);
    });
  }

  async listRatings(options: ListRatingsOptions): Promise<RatingPage> {
    const { limit, after, since } = pageRequest(options);
    const rows = await this.run(async () => {
      const result = await this.pool.query<Parameters<typeof fromRow>[0]>(
        `SELECT ${READ_COLUMNS} FROM ratings WHERE id > $1 AND rated_ms >= $2 ORDER BY id LIMIT $3`,
        [after, since, limit],
      );
      return result.rows;
    });
    const lastRow = rows.at(-1);
    return {
      ratings: rows.map((row) => withHubFields(fromRow(row), row)),
      next: rows.length === limit && lastRow ? String(lastRow.id) : null,
    };
  }

  async summary(): Promise<StoreSummary> {
    return this.run(async () => {
      const { rows } = await this.pool.query<StoreSummary>(
        `SELECT (SELECT count(*) FROM ratings)::int AS ratings, (SELECT count(*) FROM devices)::int AS devices,
                (SELECT count(*) FROM dead_letters)::int AS dead_letters`,
      );
      return rows[0] ?? { ratings: 0, devices: 0, dead_letters: 0 };
    });
  }

  async listDeadLetters(options: { after?: number; limit?: number }): Promise<DeadLetterPage> {
    const limit = Math.max(1, Math.min(options.limit ?? 1000, 10_000));
    const rows = await this.run(async () => {
      const result = await this.pool.query<StoredDeadLetterRow>(
        `SELECT id, device_id, seq, event_id, hash, reason, record, received_at FROM dead_letters
         WHERE id > $1 ORDER BY id LIMIT $2`,
        [options.after ?? 0, limit],
      );
      return result.rows;
    });
    return {
      dead_letters: rows.map((r) => ({ ...r, record: JSON.parse(r.record) as Record<string, unknown> })),
      next: rows.length === limit ? (rows.at(-1)?.id ?? null) : null,
    };
  }

  async ping(): Promise<void> {
    await this.run(() => this.pool.query('SELECT 1'));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('hub store is closed'));
    return guarded(fn);
  }

  private mapError(error: unknown): unknown {
    if (this.closed && !(error instanceof StoreUnavailableError))
      return new StoreUnavailableError('hub store is closed', { cause: error });
    return isUnavailable(error)
      ? new StoreUnavailableError(
          `hub store unavailable: ${(error as { code?: string }).code ?? (error as Error).message}`,
          {
            cause: error,
          },
        )
      : error;
  }
}

/** The partition of a month ('2026-11' → ratings_p202611). */
export function partitionName(month: string): string {
  return `ratings_p${month.replace('-', '')}`;
}

/** The bounds of a month's partition: FROM its first day TO the next month's first day (exclusive). */
export function monthBounds(month: string): { from: string; to: string } {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const to =
    m === 12
      ? `${String(y + 1).padStart(4, '0')}-01-01`
      : `${month.slice(0, 4)}-${String(m + 1).padStart(2, '0')}-01`;
  return { from: `${month}-01`, to };
}

interface StoredDeadLetterRow {
  id: number;
  device_id: string;
  seq: number;
  event_id: string;
  hash: string;
  reason: string;
  record: string;
  received_at: string;
}

/** PostgreSQL text cannot hold NUL: the columns get U+FFFD, and the record is kept verbatim. */
function pgText(text: string): string {
  return text.includes('\0') ? text.replaceAll('\0', '\uFFFD') : text;
}

function hasNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\0');
  if (value === null || typeof value !== 'object') return false;
  return Object.values(value).some(hasNul);
}

/** The SQLite store's row (same columns, same rules), made fit for PostgreSQL text. */
function toPgRow(record: AnyRatingRecord, receivedAt: string) {
  const row = toRow(record, receivedAt);
  if (!hasNul(record)) return row;
  const clean = Object.fromEntries(
    Object.entries(row).map(([k, v]) => [k, typeof v === 'string' ? pgText(v) : v]),
  ) as typeof row;
  // canonicalJson escapes NUL (and lone surrogates) as \\u sequences: the text itself is safe.
  return { ...clean, verbatim: canonicalJson(record) };
}
