import { closeSync, fstatSync, fsync, fsyncSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import {
  type AnyRatingRecord,
  type Channel,
  type ClockAnchor,
  canonicalJson,
  GENESIS_HASH,
  type IngestReply,
  isLegacyRecord,
  type LegacyRatingRecord,
  type Level,
  type RatingRecord,
} from '../../src-shared/index.ts';
import { type ChainLink, isDeadLetterItem, planIngest, verifyHashes } from '../ingest-rules.ts';
import { shanghaiDay } from '../time.ts';
import {
  correctedFields,
  epochMs,
  pageRequest,
  type StatsCountSqlRow,
  statsCountRow,
  withHubFields,
} from './rows.ts';
import { SqliteConfigStore } from './sqlite-config.ts';
import { SqliteFleetStore } from './sqlite-fleet.ts';
import { sqliteGuard, withoutOwnFsync } from './sqlite-guard.ts';
import { type MigrationReport, migrate } from './sqlite-migrations.ts';
import { SqliteTrustStore } from './sqlite-trust.ts';
import {
  type DeadLetterPage,
  type DeviceCursor,
  type HubIngestBatch,
  type HubIngestItem,
  type HubStore,
  type IngestOptions,
  type IngestOutcome,
  type ListRatingsOptions,
  type RatingPage,
  type StatsCountRow,
  StoreDamagedError,
  type StoredRating,
  type StoreSummary,
  StoreUnavailableError,
} from './types.ts';

export const HUB_DB_FILE = 'hub.db';

export interface SqliteStoreOptions {
  /** Run PRAGMA quick_check at open (default true). */
  quickCheck?: boolean;
}

/** A ratings row as the columns hold it (see migration 2). */
interface RatingRow {
  id: number;
  event_id: string;
  device_id: string;
  seq: number;
  rec_version: 1 | 2;
  outcome: string;
  level: number | null;
  channel: number;
  case_ref: string | null;
  item_code: string | null;
  item_name: string | null;
  case_status: string | null;
  accepted_at: string | null;
  finished_at: string | null;
  assess_number: number | null;
  reasons: string | null;
  reason_status: string | null;
  reason_dict_version: string | null;
  dimensions: string | null;
  free_text: string | null;
  rater_type: string | null;
  anonymous: number | null;
  rater: string | null;
  signals: string | null;
  staff_no: string;
  staff_name: string;
  window_id: string;
  hall_id: string;
  dept_id: string | null;
  config_version: string | null;
  opened_at: string;
  rated_at: string;
  mono_ms: number;
  app_boot_id: string;
  source: string;
  pad_boot_id: number | null;
  pad_press_id: number | null;
  pad_key: number | null;
  prev_hash: string;
  hash: string;
  verbatim: string | null;
  received_at: string;
}

/** Columns written at ingest besides the id; the derived ones (day, rated_ms, flagged, is_default) last. */
const INSERT_COLUMNS = [
  'event_id',
  'device_id',
  'seq',
  'rec_version',
  'outcome',
  'level',
  'channel',
  'case_ref',
  'item_code',
  'item_name',
  'case_status',
  'accepted_at',
  'finished_at',
  'assess_number',
  'reasons',
  'reason_status',
  'reason_dict_version',
  'dimensions',
  'free_text',
  'rater_type',
  'anonymous',
  'rater',
  'signals',
  'staff_no',
  'staff_name',
  'window_id',
  'hall_id',
  'dept_id',
  'config_version',
  'opened_at',
  'rated_at',
  'mono_ms',
  'app_boot_id',
  'source',
  'pad_boot_id',
  'pad_press_id',
  'pad_key',
  'prev_hash',
  'hash',
  'verbatim',
  'received_at',
  'day',
  'rated_ms',
  'flagged',
  'is_default',
  'corrected_at',
  'hub_signals',
] as const;
/** A row's values in INSERT_COLUMNS order. */
function insertValues(row: InsertRow): unknown[] {
  const values = new Array<unknown>(INSERT_COLUMNS.length);
  for (let i = 0; i < INSERT_COLUMNS.length; i++) values[i] = row[INSERT_COLUMNS[i] as keyof InsertRow];
  return values;
}
type InsertRow = Omit<RatingRow, 'id'> & {
  day: string;
  rated_ms: number;
  flagged: 0 | 1;
  is_default: 0 | 1;
  /** The hub's corrected time and signals (migration 4), set at insert when the boot has an anchor. */
  corrected_at: string | null;
  hub_signals: string | null;
};

const RATING_COLUMNS = [
  'id',
  // The record's own columns, then the hub's corrected time and signals, given back beside it.
  ...INSERT_COLUMNS.filter((c) => !['day', 'rated_ms', 'flagged', 'is_default'].includes(c)),
].join(', ');

/** Opens (creating if needed) `<dataDir>/hub.db`, checks it, and migrates it to the latest schema. */
export function openHubStore(dataDir: string, options: SqliteStoreOptions = {}): SqliteHubStore {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, HUB_DB_FILE);
  const db = new Database(file);
  try {
    // Set on every open: these pragmas are per connection (journal_mode persists, the rest do not).
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    // Each batch of an ingest group is a savepoint, whose journal of the pages it changes would
    // otherwise be a temporary file written through the kernel; none of the hub's queries needs a
    // temporary store larger than memory (stats read a covering index, exports read in id order).
    db.pragma('temp_store = MEMORY');
    if (options.quickCheck !== false) {
      const report = (db.pragma('quick_check') as { quick_check: string }[]).map((r) => r.quick_check);
      if (report.length !== 1 || report[0] !== 'ok') throw new StoreDamagedError(file, report);
    }
    const migration = migrate(db, file);
    return new SqliteHubStore(db, file, migration);
  } catch (error) {
    db.close();
    if (error instanceof Database.SqliteError && /^SQLITE_(CORRUPT|NOTADB)/.test(error.code)) {
      throw new StoreDamagedError(file, [error.message]);
    }
    throw error;
  }
}

/**
 * Records per group commit, at most (a group always takes at least one batch): about 20–30 ms of
 * the event loop on a hall server, still hundreds of records per commit and fsync.
 */
export const GROUP_COMMIT_MAX_ITEMS = 1000;

interface PendingIngest {
  batch: HubIngestBatch;
  now: string;
  noLoneSurrogates: boolean;
  resolve: (outcome: IngestOutcome) => void;
  reject: (error: unknown) => void;
}

type GroupResult = { ok: true; outcome: IngestOutcome } | { ok: false; error: unknown };

export class SqliteHubStore implements HubStore {
  private readonly stmt;
  private readonly batchTx;
  private readonly groupTx;
  /** Batches waiting for the next group commit (see ingest). */
  private pending: PendingIngest[] = [];
  /** Group commits made and the batches they held (diagnostics and tests). */
  readonly groupCommits = { groups: 0, batches: 0 };
  private flushScheduled = false;
  /** Our descriptor of the WAL file (see syncWal) and the inode it was opened on. */
  private wal: { fd: number; ino: number } | null = null;
  /** WAL fsyncs in flight: close() waits for them, so no group is left unanswered. */
  private readonly syncing = new Set<Promise<void>>();
  readonly trust: SqliteTrustStore;
  readonly fleet: SqliteFleetStore;
  readonly configs: SqliteConfigStore;
  /** One queue, applied in call order by one writer (see ingest). */
  readonly ingestsInCallOrder = true;

  constructor(
    /** Exposed for tests and diagnostics; other code goes through the HubStore methods. */
    readonly db: Database.Database,
    readonly file: string,
    readonly migration: MigrationReport,
  ) {
    this.trust = new SqliteTrustStore(db);
    this.fleet = new SqliteFleetStore(db);
    this.configs = new SqliteConfigStore(db);
    this.stmt = {
      device: db.prepare<[string], DeviceCursor>(
        'SELECT device_id, last_seq, last_hash, first_seen, last_seen FROM devices WHERE device_id = ?',
      ),
      links: db.prepare<
        [string, number, number, string, number, number, string, number, number],
        ChainLink & { seq: number }
      >(
        `SELECT seq, event_id, hash, NULL AS dead_letter FROM ratings WHERE device_id = ? AND seq BETWEEN ? AND ?
         UNION ALL
         SELECT seq, event_id, hash, NULL FROM chain_aliases WHERE device_id = ? AND seq BETWEEN ? AND ?
         UNION ALL
         SELECT seq, event_id, hash, reason FROM dead_letters WHERE device_id = ? AND seq BETWEEN ? AND ?`,
      ),
      insertDeadLetter: db.prepare(
        `INSERT INTO dead_letters (device_id, seq, event_id, hash, reason, record, received_at)
         VALUES (@device_id, @seq, @event_id, @hash, @reason, @record, @received_at)`,
      ),
      countDeadLetters: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM dead_letters'),
      deadLetterPage: db.prepare<
        [number, number],
        {
          id: number;
          device_id: string;
          seq: number;
          event_id: string;
          hash: string;
          reason: string;
          record: string;
          received_at: string;
        }
      >(
        `SELECT id, device_id, seq, event_id, hash, reason, record, received_at FROM dead_letters
         WHERE id > ? ORDER BY id LIMIT ?`,
      ),
      upsertDevice: db.prepare(
        `INSERT INTO devices (device_id, last_seq, last_hash, first_seen, last_seen)
         VALUES (@device_id, @last_seq, @last_hash, @now, @now)
         ON CONFLICT (device_id) DO UPDATE SET
           last_seq = excluded.last_seq, last_hash = excluded.last_hash, last_seen = excluded.last_seen`,
      ),
      // Positional parameters: binding 48 named ones looks each up on the row object through the
      // engine's slow path, which was a fifth of a 500-rating batch's insert.
      insertRating: db.prepare<unknown[]>(
        `INSERT INTO ratings (${INSERT_COLUMNS.join(', ')})
         VALUES (${INSERT_COLUMNS.map(() => '?').join(', ')})
         ON CONFLICT DO NOTHING`,
      ),
      insertAlias: db.prepare(
        `INSERT INTO chain_aliases (device_id, seq, event_id, hash, received_at)
         VALUES (@device_id, @seq, @event_id, @hash, @received_at)
         ON CONFLICT DO NOTHING`,
      ),
      statsCounts: db.prepare<[string, string], StatsCountSqlRow>(
        `SELECT day, hall_id, window_id, outcome, level, flagged, is_default, COUNT(*) AS count FROM ratings
         WHERE day BETWEEN ? AND ?
         GROUP BY day, hall_id, window_id, outcome, level, flagged, is_default
         ORDER BY day, hall_id, window_id, outcome, level, flagged, is_default`,
      ),
      page: db.prepare<[number, number, number], RatingRow>(
        `SELECT ${RATING_COLUMNS} FROM ratings WHERE id > ? AND rated_ms >= ? ORDER BY id LIMIT ?`,
      ),
      countRatings: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM ratings'),
      countDevices: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM devices'),
      ping: db.prepare('SELECT 1'),
    };
    // One batch: nested inside the group's transaction, better-sqlite3 makes it a SAVEPOINT, so a
    // batch that throws is undone alone and the rest of the group still commits.
    this.batchTx = db.transaction((p: PendingIngest) =>
      this.ingestLocked(p.batch, p.now, p.noLoneSurrogates),
    );
    // IMMEDIATE: take the write lock at BEGIN, so a second process cannot interleave a read-then-write.
    this.groupTx = db.transaction((group: PendingIngest[], results: GroupResult[]) => {
      const only = group.length === 1 ? group[0] : undefined;
      if (only) {
        // Alone in its group, a batch needs no savepoint: if it throws, the whole transaction is
        // rolled back and flush() rejects it, as its savepoint would have.
        results.push({
          ok: true,
          outcome: this.guard(() => this.ingestLocked(only.batch, only.now, only.noLoneSurrogates)),
        });
        return;
      }
      for (const p of group) {
        try {
          results.push({ ok: true, outcome: this.guard(() => this.batchTx(p)) });
        } catch (error) {
          results.push({ ok: false, error });
        }
      }
    }).immediate;
  }

  /**
   * Group commit: batches that arrive while the hub is busy share the next transaction, so 2,000
   * counters cost one fsync per group rather than one per batch. Each batch still succeeds or
   * fails alone (savepoints), and no reply is given before the group is durable (see flush).
   */
  async ingest(batch: HubIngestBatch, receivedAt: Date, options: IngestOptions = {}): Promise<IngestOutcome> {
    // Pure CPU, done before the write lock is taken.
    const bad = options.hashesVerified ? null : verifyHashes(batch);
    if (bad) return { ok: false, rejection: bad };
    return new Promise<IngestOutcome>((resolve, reject) => {
      const noLoneSurrogates = options.noLoneSurrogates === true;
      this.pending.push({ batch, now: receivedAt.toISOString(), noLoneSurrogates, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // After this turn's I/O callbacks: every batch already parsed joins the group.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    // Already drained (by close, or by an earlier turn): nothing to commit.
    if (this.pending.length === 0) return;
    // A bounded group: its transaction runs on the event loop, and an unbounded one fed itself.
    // Under a fleet, the batches that arrived during one long flush all joined the next, which
    // was longer still (measured at 20,000 ratings/s: groups of 470 batches, 0.7–1.6 s each, with
    // every request of the hub waiting behind them). The rest go in the next turn, after the
    // event loop has read requests, handed out parses and sent the replies of synced groups.
    let items = 0;
    let take = 0;
    while (take < this.pending.length && (take === 0 || items < GROUP_COMMIT_MAX_ITEMS)) {
      items += (this.pending[take] as PendingIngest).batch.items.length;
      take++;
    }
    const group = this.pending.slice(0, take);
    this.pending = this.pending.slice(take);
    this.groupCommits.groups++;
    this.groupCommits.batches += take;
    if (this.pending.length > 0) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    const results: GroupResult[] = [];
    try {
      // Committed without SQLite's own fsync, which would block this thread (the event loop) for
      // the whole flush; the WAL is fsynced just after on libuv's pool, and no batch of the group
      // is answered before that. WAL mode with FULL does exactly this fsync at commit, so what a
      // reply promises is the same; meanwhile the next group is already being written.
      this.guard(() => withoutOwnFsync(this.db, () => this.groupTx(group, results)));
    } catch (error) {
      // The commit itself failed (disk full, I/O error), or a batch alone in its group threw:
      // nothing of the group was stored.
      for (const p of group) p.reject(error);
      return;
    }
    const settle = () =>
      group.forEach((p, i) => {
        const r = results[i];
        if (r?.ok) p.resolve(r.outcome);
        else p.reject(r ? r.error : new Error('batch missing from its group commit'));
      });
    const synced = this.syncWal().then(settle, (error: Error) => {
      // Committed, but not known to be on disk: the counters send it again (stored once).
      const unavailable = new StoreUnavailableError(`hub store could not fsync: ${error.message}`, {
        cause: error,
      });
      for (const p of group) p.reject(unavailable);
    });
    this.syncing.add(synced);
    void synced.finally(() => this.syncing.delete(synced));
  }

  /**
   * fsync of the WAL file through a descriptor of our own, on the thread pool. It is the file
   * SQLite appends every commit to (it keeps it while the database is open); reopened should it
   * ever be replaced, and its directory synced once so a new WAL file's entry is durable too.
   */
  private syncWal(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      try {
        const path = `${this.file}-wal`;
        if (this.wal && statSync(path).ino !== this.wal.ino) {
          closeSync(this.wal.fd);
          this.wal = null;
        }
        if (!this.wal) {
          const fd = openSync(path, 'r+');
          this.wal = { fd, ino: fstatSync(fd).ino };
          const dir = openSync(dirname(path), 'r');
          try {
            fsyncSync(dir);
          } finally {
            closeSync(dir);
          }
        }
        fsync(this.wal.fd, (error) => (error ? reject(error) : resolve()));
      } catch (error) {
        reject(error);
      }
    });
  }

  private ingestLocked(batch: HubIngestBatch, now: string, noLoneSurrogates: boolean): IngestOutcome {
    const device = this.stmt.device.get(batch.device_id);
    const head = device ? { seq: device.last_seq, hash: device.last_hash } : { seq: 0, hash: GENESIS_HASH };
    const first = batch.items[0]?.seq ?? 1;
    const last = batch.items.at(-1)?.seq ?? 0;
    const held = new Map<number, ChainLink>();
    if (first <= head.seq) {
      const to = Math.min(last, head.seq);
      const d = batch.device_id;
      for (const row of this.stmt.links.all(d, first, to, d, first, to, d, first, to)) {
        held.set(row.seq, { event_id: row.event_id, hash: row.hash, dead_letter: row.dead_letter });
      }
    }
    const plan = planIngest(batch, head, (seq) => held.get(seq));
    if (!plan.ok) return plan;

    const tail = plan.fresh.at(-1);
    this.stmt.upsertDevice.run({
      device_id: batch.device_id,
      last_seq: tail ? tail.seq : head.seq,
      last_hash: tail ? tail.hash : head.hash,
      now,
    });
    const items: IngestReply['items'] = [...plan.knownStatus];
    const anchorsOf = this.anchorsForBatch(batch.device_id, plan.fresh);
    let stored = 0;
    let dead = 0;
    for (const record of plan.fresh) {
      if (isDeadLetterItem(record)) {
        // Kept verbatim with its reason; the cursor moves past it (decisions.md "Dead letters").
        this.stmt.insertDeadLetter.run({
          ...pick(record),
          reason: record.reason,
          record: canonicalJson(record.raw),
          received_at: now,
        });
        dead++;
        items.push({ seq: record.seq, status: 'dead_letter', reason: record.reason });
        continue;
      }
      const row = toRow(record, now, noLoneSurrogates);
      // Corrected at insert when the boot has an anchor: one write per rating, not an insert and
      // an update (a boot without one is corrected by the heartbeat that brings its first anchor).
      const fields = correctedFields(
        anchorsOf.get(record.app_boot_id) ?? NO_ANCHORS,
        record.mono_ms,
        row.accepted_at,
      );
      if (fields) {
        row.corrected_at = fields.corrected_at;
        row.hub_signals = fields.hub_signals;
        if (fields.flagged) row.flagged = 1;
      }
      const inserted = this.stmt.insertRating.run(insertValues(row)).changes === 1;
      if (!inserted) {
        // Only the event_id can collide (seq is above the cursor): the rating is already counted.
        this.stmt.insertAlias.run({ ...pick(record), received_at: now });
      }
      stored += inserted ? 1 : 0;
      items.push({ seq: record.seq, status: inserted ? 'stored' : 'duplicate' });
    }
    return {
      ok: true,
      reply: { ack_through_seq: tail ? tail.seq : head.seq, items, server_time: now },
      stored,
      duplicates: items.length - stored - dead,
      dead_letters: dead,
    };
  }

  /** The clock anchors each boot of these records needs, read once a batch (boots without one are left out). */
  private anchorsForBatch(deviceId: string, records: readonly HubIngestItem[]): Map<string, ClockAnchor[]> {
    const spans = new Map<string, { low: number; high: number }>();
    for (const r of records) {
      if (isDeadLetterItem(r)) continue;
      const span = spans.get(r.app_boot_id);
      if (span) {
        if (r.mono_ms < span.low) span.low = r.mono_ms;
        if (r.mono_ms > span.high) span.high = r.mono_ms;
      } else spans.set(r.app_boot_id, { low: r.mono_ms, high: r.mono_ms });
    }
    const anchors = new Map<string, ClockAnchor[]>();
    for (const [boot, { low, high }] of spans) {
      const found = this.fleet.anchorsAround(deviceId, boot, low, high);
      if (found.length > 0) anchors.set(boot, found);
    }
    return anchors;
  }

  async deviceCursor(deviceId: string): Promise<DeviceCursor | null> {
    return this.guard(() => this.stmt.device.get(deviceId) ?? null);
  }

  async statsCounts(from: string, to: string): Promise<StatsCountRow[]> {
    return this.guard(() => this.stmt.statsCounts.all(from, to).map(statsCountRow));
  }

  async listRatings(options: ListRatingsOptions): Promise<RatingPage> {
    const { limit, after, since } = pageRequest(options);
    const rows = this.guard(() => this.stmt.page.all(after, since, limit));
    const lastRow = rows.at(-1);
    return {
      ratings: rows.map((row) => withHubFields(fromRow(row), row)),
      next: rows.length === limit && lastRow ? String(lastRow.id) : null,
    };
  }

  async summary(): Promise<StoreSummary> {
    return this.guard(() => ({
      ratings: this.stmt.countRatings.get()?.n ?? 0,
      devices: this.stmt.countDevices.get()?.n ?? 0,
      dead_letters: this.stmt.countDeadLetters.get()?.n ?? 0,
    }));
  }

  async listDeadLetters(options: { after?: number; limit?: number }): Promise<DeadLetterPage> {
    const limit = Math.max(1, Math.min(options.limit ?? 1000, 10_000));
    const rows = this.guard(() => this.stmt.deadLetterPage.all(options.after ?? 0, limit));
    return {
      dead_letters: rows.map((r) => ({ ...r, record: JSON.parse(r.record) as Record<string, unknown> })),
      next: rows.length === limit ? (rows.at(-1)?.id ?? null) : null,
    };
  }

  async ping(): Promise<void> {
    this.guard(() => this.stmt.ping.get());
  }

  async close(): Promise<void> {
    // Batches already queued are stored and answered, not failed: with bounded groups a backlog
    // can still be waiting for its turns when the hub is asked to stop.
    while (this.pending.length > 0 && this.db.open) this.flush();
    await Promise.allSettled([...this.syncing]);
    this.trust.writeNonces();
    if (this.wal) closeSync(this.wal.fd);
    this.wal = null;
    if (this.db.open) this.db.close();
  }

  /** Turns engine failures that a retry may cure into StoreUnavailableError (HTTP 503). */
  private guard<T>(fn: () => T): T {
    return sqliteGuard(this.db, fn);
  }
}

function pick(record: Pick<AnyRatingRecord, 'device_id' | 'seq' | 'event_id' | 'hash'>) {
  return { device_id: record.device_id, seq: record.seq, event_id: record.event_id, hash: record.hash };
}

/** Canonical JSON text of a nullable object or array column. */
function jsonColumn(value: object | null): string | null {
  return value === null ? null : canonicalJson(value);
}

/** The row for a record: legacy records keep the new columns NULL, so they come back in their own shape. */
/** `noLoneSurrogates`: the caller knows no text of the record holds one (IngestOptions). */
export function toRow(record: AnyRatingRecord, receivedAt: string, noLoneSurrogates = false): InsertRow {
  // One object literal, no spreads: this runs for every stored rating, and spreading the common
  // part into a 45-field row cost more than filling the row itself.
  const cur = isLegacyRecord(record) ? null : record;
  return {
    event_id: record.event_id,
    device_id: record.device_id,
    seq: record.seq,
    level: record.level,
    channel: record.channel,
    case_ref: record.case_ref,
    staff_no: record.staff_no,
    staff_name: record.staff_name,
    window_id: record.window_id,
    hall_id: record.hall_id,
    opened_at: record.opened_at,
    rated_at: record.rated_at,
    mono_ms: record.mono_ms,
    app_boot_id: record.app_boot_id,
    source: record.source,
    pad_boot_id: record.pad?.boot_id ?? null,
    pad_press_id: record.pad?.press_id ?? null,
    pad_key: record.pad?.key ?? null,
    prev_hash: record.prev_hash,
    hash: record.hash,
    // SQLite would store a lone surrogate as U+FFFD and the export would no longer verify.
    verbatim: !noLoneSurrogates && hasLoneSurrogate(record) ? canonicalJson(record) : null,
    received_at: receivedAt,
    day: shanghaiDay(record.rated_at),
    rated_ms: epochMs(record.rated_at),
    is_default: 0,
    // Legacy records keep the newer columns NULL, so they come back in their own shape.
    rec_version: cur ? 2 : 1,
    outcome: cur ? cur.outcome : 'rated',
    item_code: cur ? cur.item_code : null,
    item_name: cur ? cur.item_name : null,
    case_status: cur ? cur.case_status : null,
    accepted_at: cur ? cur.accepted_at : null,
    finished_at: cur ? cur.finished_at : null,
    assess_number: cur ? cur.assess_number : null,
    reasons: cur ? canonicalJson(cur.reasons) : null,
    reason_status: cur ? cur.reason_status : null,
    reason_dict_version: cur ? cur.reason_dict_version : null,
    dimensions: cur ? jsonColumn(cur.dimensions) : null,
    free_text: cur ? cur.free_text : null,
    rater_type: cur ? cur.rater_type : null,
    anonymous: cur ? (cur.anonymous ? 1 : 0) : null,
    rater: cur ? jsonColumn(cur.rater) : null,
    signals: cur ? canonicalJson(cur.signals) : null,
    dept_id: cur ? cur.dept_id : null,
    config_version: cur ? cur.config_version : null,
    flagged: cur && cur.signals.length > 0 ? 1 : 0,
    corrected_at: null,
    hub_signals: null,
  };
}

const NO_ANCHORS: readonly ClockAnchor[] = [];

/** The record exactly as the counter sent it (current or legacy shape), plus received_at. */
export function fromRow(row: RatingRow): StoredRating {
  if (row.verbatim !== null) {
    return { ...(JSON.parse(row.verbatim) as AnyRatingRecord), received_at: row.received_at };
  }
  const legacy: LegacyRatingRecord = {
    event_id: row.event_id,
    device_id: row.device_id,
    seq: row.seq,
    level: row.level as Level,
    channel: row.channel as Channel,
    case_ref: row.case_ref,
    staff_no: row.staff_no,
    staff_name: row.staff_name,
    window_id: row.window_id,
    hall_id: row.hall_id,
    opened_at: row.opened_at,
    rated_at: row.rated_at,
    mono_ms: row.mono_ms,
    app_boot_id: row.app_boot_id,
    source: row.source as LegacyRatingRecord['source'],
    pad:
      row.pad_boot_id === null || row.pad_press_id === null || row.pad_key === null
        ? null
        : { boot_id: row.pad_boot_id, press_id: row.pad_press_id, key: row.pad_key },
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
  if (row.rec_version === 1) return { ...legacy, received_at: row.received_at };
  const current: RatingRecord = {
    ...legacy,
    outcome: row.outcome as RatingRecord['outcome'],
    level: row.level as Level | null,
    source: row.source as RatingRecord['source'],
    item_code: row.item_code,
    item_name: row.item_name,
    case_status: row.case_status,
    accepted_at: row.accepted_at,
    finished_at: row.finished_at,
    assess_number: row.assess_number as RatingRecord['assess_number'],
    reasons: parseJson(row.reasons) as RatingRecord['reasons'],
    reason_status: row.reason_status as RatingRecord['reason_status'],
    reason_dict_version: row.reason_dict_version,
    dimensions: parseJson(row.dimensions) as RatingRecord['dimensions'],
    free_text: row.free_text,
    rater_type: row.rater_type as RatingRecord['rater_type'],
    anonymous: row.anonymous === 1,
    rater: parseJson(row.rater) as RatingRecord['rater'],
    signals: parseJson(row.signals) as RatingRecord['signals'],
    dept_id: row.dept_id,
    config_version: row.config_version ?? '',
  };
  return { ...current, received_at: row.received_at };
}

function parseJson(text: string | null): unknown {
  return text === null ? null : JSON.parse(text);
}

/** A UTF-16 surrogate without its pair anywhere in a record's texts. */
function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string')
    return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(value);
  if (value === null || typeof value !== 'object') return false;
  return Object.values(value).some(hasLoneSurrogate);
}
