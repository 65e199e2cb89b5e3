import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { v7 as uuidv7 } from 'uuid';
import {
  type AnyRatingRecord,
  canonicalJson,
  chainInput,
  type Dimensions,
  type FraudSignal,
  GENESIS_HASH,
  type LegacyRatingRecord,
  type Level,
  type PadPress,
  type RaterContact,
  type RaterType,
  type RatingBody,
  type RatingRecord,
  type ReasonStatus,
  ratingRecordSchema,
  type StoreView,
} from '../../../src-shared/index.ts';
import { AuditLog } from '../audit/audit-log.ts';
import { classifyWriteError, healthMessage, type StoreHealth } from './health.ts';
import { type Db, type OpenReport, openStore } from './open.ts';
import { prepared } from './prepared.ts';

export interface CounterStoreOptions {
  /** While a write fails for lack of space or permission, a tiny write is tried this often (ms). */
  probeIntervalMs?: number;
}

export interface PruneResult {
  /** Acked ratings deleted. */
  pruned: number;
  /** Pad press rows kept for dedup whose rating reference was cleared. */
  presses_unlinked: number;
  batches: number;
}

const DAY_MS = 86_400_000;
/** Writes after which a WAL checkpoint is queued for right after the current task, and forced inline. */
const CHECKPOINT_SOFT = 100;
const CHECKPOINT_HARD = 2000;

/** What a rating needs besides what the citizen gave: who served, where, which case, how it was given. */
export interface RatingContext {
  channel: 4 | 5;
  case_ref: string | null;
  item_code: string | null;
  item_name: string | null;
  case_status: string | null;
  accepted_at: string | null;
  finished_at: string | null;
  dept_id: string | null;
  rater_type: RaterType;
  /** Contact from the business system; dropped when the rating is anonymous. */
  rater: RaterContact | null;
  staff_no: string;
  staff_name: string;
  window_id: string;
  hall_id: string;
  config_version: string;
  opened_at: string;
  source: RatingRecord['source'];
  pad: PadPress | null;
  signals: FraudSignal[];
}

/** What the citizen gave (or did not: level null is 未评价). */
export interface RatingGiven {
  level: Level | null;
  reasons: string[];
  reason_status: ReasonStatus;
  reason_dict_version: string | null;
  dimensions: Dimensions | null;
  free_text: string | null;
  anonymous: boolean;
}

/** A window that closed with no level (time-out, or staff signed out): recorded as 未评价. */
export function notRatedGiven(): RatingGiven {
  return {
    level: null,
    reasons: [],
    reason_status: 'not_required',
    reason_dict_version: null,
    dimensions: null,
    free_text: null,
    anonymous: false,
  };
}

/** A level with nothing else: no reason asked (not a 差评) or none given (pad with no reason step). */
export function plainGiven(level: Level, dictVersion: string | null): RatingGiven {
  const bad = level <= 2;
  return {
    level,
    reasons: [],
    reason_status: bad ? 'not_given' : 'not_required',
    reason_dict_version: bad ? dictVersion : null,
    dimensions: null,
    free_text: null,
    anonymous: false,
  };
}

export interface PressInput {
  bootId: number;
  pressId: number;
  key: number;
}

/** EVP/1 ACK status of a KEY: 0 rating, 1 recorded but not a rating, 2 cannot store. */
export type PressOutcome = 0 | 1 | 2;

/**
 * A press's fate, decided inside the store's transaction so the decision and the write are one:
 * a rating (with its context) or a recorded non-rating (with the reason).
 */
export type PressDecision =
  | { rate: true; given: RatingGiven; ctx: RatingContext }
  | { rate: false; reason: string };

interface RatingRow {
  seq: number;
  event_id: string;
  rec_version: number;
  outcome: string;
  level: number | null;
  channel: number;
  case_ref: string | null;
  item_code: string | null;
  item_name: string | null;
  case_status: string | null;
  accepted_at: string | null;
  finished_at: string | null;
  assess_number: number;
  reasons: string | null;
  reason_status: string;
  reason_dict_version: string | null;
  dimensions: string | null;
  free_text: string | null;
  rater_type: string;
  anonymous: number;
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
}

/** Replaces lone surrogates in every string field, in place (text from a caller or a screen can hold them). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
function wellFormed(s: string): string {
  return s.replace(LONE_SURROGATE, '\uFFFD');
}
function wellFormedStrings(value: object): void {
  const o = value as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'string') o[k] = wellFormed(v);
    else if (Array.isArray(v)) o[k] = v.map((x) => (typeof x === 'string' ? wellFormed(x) : x));
    else if (v !== null && typeof v === 'object') wellFormedStrings(v);
  }
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function list(text: string | null): string[] {
  return text ? text.split(',') : [];
}

/** A stored row back to the record whose hash it carries: legacy rows in their original shape. */
export function rowToRecord(row: RatingRow, deviceId: string): AnyRatingRecord {
  const pad =
    row.pad_boot_id === null || row.pad_press_id === null || row.pad_key === null
      ? null
      : { boot_id: row.pad_boot_id, press_id: row.pad_press_id, key: row.pad_key };
  if (row.rec_version === 1) {
    const legacy: LegacyRatingRecord = {
      event_id: row.event_id,
      device_id: deviceId,
      seq: row.seq,
      level: row.level as Level,
      channel: row.channel as 4 | 5,
      case_ref: row.case_ref,
      staff_no: row.staff_no,
      staff_name: row.staff_name,
      window_id: row.window_id,
      hall_id: row.hall_id,
      opened_at: row.opened_at,
      rated_at: row.rated_at,
      mono_ms: row.mono_ms,
      app_boot_id: row.app_boot_id,
      source: row.source as 'pad' | 'screen',
      pad,
      prev_hash: row.prev_hash,
      hash: row.hash,
    };
    return legacy;
  }
  return {
    event_id: row.event_id,
    device_id: deviceId,
    seq: row.seq,
    outcome: row.outcome as RatingRecord['outcome'],
    level: row.level as Level | null,
    channel: row.channel as 4 | 5,
    case_ref: row.case_ref,
    item_code: row.item_code,
    item_name: row.item_name,
    case_status: row.case_status,
    accepted_at: row.accepted_at,
    finished_at: row.finished_at,
    assess_number: row.assess_number as 1 | 2,
    reasons: list(row.reasons),
    reason_status: row.reason_status as ReasonStatus,
    reason_dict_version: row.reason_dict_version,
    dimensions: row.dimensions === null ? null : (JSON.parse(row.dimensions) as Dimensions),
    free_text: row.free_text,
    rater_type: row.rater_type as RaterType,
    anonymous: row.anonymous === 1,
    rater: row.rater === null ? null : (JSON.parse(row.rater) as RaterContact),
    signals: list(row.signals) as FraudSignal[],
    staff_no: row.staff_no,
    staff_name: row.staff_name,
    window_id: row.window_id,
    hall_id: row.hall_id,
    dept_id: row.dept_id,
    config_version: row.config_version ?? 'unknown',
    opened_at: row.opened_at,
    rated_at: row.rated_at,
    mono_ms: row.mono_ms,
    app_boot_id: row.app_boot_id,
    source: row.source as RatingRecord['source'],
    pad,
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}

/**
 * A stored row as the JSON text of the record whose hash it carries, built by SQLite itself: the
 * same values rowToRecord gives (a property test holds the two equal), without a JS object per row,
 * JSON.stringify and a UTF-8 copy, which were most of a draining counter's CPU. Legacy rows keep
 * their original shape. Comma-joined lists become arrays by quoting the whole text and turning each
 * comma into `","` (json_quote never escapes a comma), so `'a,,b'` is `["a","","b"]` as split(',')
 * gives. SQLite (3.53) writes a REAL with enough digits to read back the same double.
 */
const RECORD_JSON_SQL = `CAST(CASE rec_version WHEN 1 THEN json_object(
    'event_id', event_id, 'device_id', @device, 'seq', seq, 'level', level, 'channel', channel,
    'case_ref', case_ref, 'staff_no', staff_no, 'staff_name', staff_name, 'window_id', window_id,
    'hall_id', hall_id, 'opened_at', opened_at, 'rated_at', rated_at, 'mono_ms', mono_ms,
    'app_boot_id', app_boot_id, 'source', source, 'pad', json(PAD), 'prev_hash', prev_hash, 'hash', hash)
  ELSE json_object(
    'event_id', event_id, 'device_id', @device, 'seq', seq, 'outcome', outcome, 'level', level,
    'channel', channel, 'case_ref', case_ref, 'item_code', item_code, 'item_name', item_name,
    'case_status', case_status, 'accepted_at', accepted_at, 'finished_at', finished_at,
    'assess_number', assess_number, 'reasons', json(LIST(reasons)), 'reason_status', reason_status,
    'reason_dict_version', reason_dict_version, 'dimensions', json(dimensions), 'free_text', free_text,
    'rater_type', rater_type, 'anonymous', json(CASE anonymous WHEN 1 THEN 'true' ELSE 'false' END),
    'rater', json(rater), 'signals', json(LIST(signals)), 'staff_no', staff_no, 'staff_name', staff_name,
    'window_id', window_id, 'hall_id', hall_id, 'dept_id', dept_id,
    'config_version', coalesce(config_version, 'unknown'), 'opened_at', opened_at, 'rated_at', rated_at,
    'mono_ms', mono_ms, 'app_boot_id', app_boot_id, 'source', source, 'pad', json(PAD),
    'prev_hash', prev_hash, 'hash', hash)
  END AS BLOB)`
  .replaceAll(
    'PAD',
    `CASE WHEN pad_boot_id IS NULL OR pad_press_id IS NULL OR pad_key IS NULL THEN NULL
      ELSE json_object('boot_id', pad_boot_id, 'press_id', pad_press_id, 'key', pad_key) END`,
  )
  .replace(
    /LIST\((\w+)\)/g,
    `CASE WHEN $1 IS NULL OR $1 = '' THEN '[]' ELSE '[' || replace(json_quote($1), ',', '","') || ']' END`,
  );
/**
 * The last seq the hub has said it stores (0 before its first answer): the latest ack mark. The
 * unacked ratings are exactly those above it (see migration 6), a range of the table's own key.
 */
const ACKED_THROUGH_SQL = '(SELECT COALESCE(MAX(through_seq), 0) FROM ack_marks)';
const INSERT_MARK_SQL = 'INSERT INTO ack_marks (through_seq, acked_at) VALUES (?, ?)';
const UNSENT_JSON_SQL = `SELECT seq, event_id, ${RECORD_JSON_SQL} AS json FROM ratings
  WHERE seq > MAX(@after, ${ACKED_THROUGH_SQL}) ORDER BY seq LIMIT @limit`;

/** An unacked record ready to send: its seq, event id and JSON text as UTF-8 bytes. */
export interface UnsentJson {
  seq: number;
  event_id: string;
  json: Buffer;
}

/**
 * The counter's durable state. Every write is one FULL-sync transaction, so once a method
 * returns, the rating survives a power cut; callers tell the citizen or the pad only after.
 */
export class CounterStore {
  readonly db: Db;
  readonly report: OpenReport;
  readonly deviceId: string;
  /** This process's boot id, in every rating it records and in its heartbeats (hub clock anchors). */
  readonly appBootId = uuidv7();
  private readonly started = performance.now();

  private healthState: StoreHealth = 'ok';
  private healthText: string | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private readonly healthListeners = new Set<(view: StoreView) => void>();
  private readonly probeIntervalMs: number;
  private writesSinceCheckpoint = 0;
  private checkpointQueued = false;

  constructor(
    readonly path: string,
    private readonly now: () => Date = () => new Date(),
    opts: CounterStoreOptions = {},
  ) {
    this.probeIntervalMs = opts.probeIntervalMs ?? 5000;
    const { db, report } = openStore(path, now);
    this.db = db;
    this.report = report;
    this.deviceId = this.meta('device_id') ?? this.initDeviceId();
    // Checkpoints run after a commit has returned (and its ACK gone out), not inside the commit
    // that crosses SQLite's threshold: see checkpointSoon.
    this.db.pragma('wal_autocheckpoint = 0');
    this.insertRecord = this.db.prepare(
      `INSERT INTO ratings (seq, event_id, rec_version, outcome, level, channel, case_ref, item_code, item_name,
         case_status, accepted_at, finished_at, assess_number, reasons, reason_status, reason_dict_version,
         dimensions, free_text, rater_type, anonymous, rater, signals, staff_no, staff_name, window_id, hall_id,
         dept_id, config_version, opened_at, rated_at, mono_ms, app_boot_id, source, pad_boot_id, pad_press_id,
         pad_key, prev_hash, hash)
       VALUES (@seq, @event_id, 2, @outcome, @level, @channel, @case_ref, @item_code, @item_name,
         @case_status, @accepted_at, @finished_at, @assess_number, @reasons, @reason_status, @reason_dict_version,
         @dimensions, @free_text, @rater_type, @anonymous, @rater, @signals, @staff_no, @staff_name, @window_id, @hall_id,
         @dept_id, @config_version, @opened_at, @rated_at, @mono_ms, @app_boot_id, @source, @pad_boot_id, @pad_press_id,
         @pad_key, @prev_hash, @hash)`,
    );
  }

  /** Monotonic ms since this store opened: the clock of the ratings' mono_ms (heartbeats send it too). */
  monoMs(): number {
    return Math.round((performance.now() - this.started) * 1000) / 1000;
  }

  private meta(key: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as
      | { value: string }
      | undefined;
    return row?.value;
  }

  private initDeviceId(): string {
    const id = `ctr-${uuidv7()}`;
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('device_id', id);
    return id;
  }

  private appendRating(given: RatingGiven, ctx: RatingContext): RatingRecord {
    const last = this.db.prepare('SELECT seq, hash FROM ratings ORDER BY seq DESC LIMIT 1').get() as
      | { seq: number; hash: string }
      | undefined;
    const body: RatingBody = {
      event_id: uuidv7(),
      device_id: this.deviceId,
      seq: (last?.seq ?? 0) + 1,
      outcome: given.level === null ? 'not_rated' : 'rated',
      level: given.level,
      channel: ctx.channel,
      case_ref: ctx.case_ref,
      item_code: ctx.item_code,
      item_name: ctx.item_name,
      case_status: ctx.case_status,
      accepted_at: ctx.accepted_at,
      finished_at: ctx.finished_at,
      assess_number: 1,
      reasons: given.reasons,
      reason_status: given.reason_status,
      reason_dict_version: given.reason_dict_version,
      dimensions: given.dimensions,
      free_text: given.free_text,
      rater_type: ctx.rater_type,
      // An anonymous rating stores no personal data of the rater (domain.md).
      anonymous: given.anonymous,
      rater: given.anonymous ? null : ctx.rater,
      signals: ctx.signals,
      staff_no: ctx.staff_no,
      staff_name: ctx.staff_name,
      window_id: ctx.window_id,
      hall_id: ctx.hall_id,
      dept_id: ctx.dept_id,
      config_version: ctx.config_version,
      opened_at: ctx.opened_at,
      rated_at: this.now().toISOString(),
      mono_ms: Math.round((performance.now() - this.started) * 1000) / 1000,
      app_boot_id: this.appBootId,
      source: ctx.source,
      pad: ctx.pad,
      prev_hash: last?.hash ?? GENESIS_HASH,
    };
    // SQLite stores a lone UTF-16 surrogate as U+FFFD: hash exactly what will be read back.
    wellFormedStrings(body);
    const record: RatingRecord = { ...body, hash: sha256Hex(chainInput(body)) };
    // The contract's cross-field rules (level vs outcome, reasons vs 差评, anonymous vs contact)
    // hold before anything is written: a record the hub would refuse is a bug, never a queue entry.
    const checked = ratingRecordSchema.safeParse(record);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      throw new Error(`invalid rating record: ${issue?.path.join('.')}: ${issue?.message}`);
    }
    this.insertRecord.run({
      ...record,
      pad: undefined,
      reasons: record.reasons.length > 0 ? record.reasons.join(',') : null,
      dimensions: record.dimensions === null ? null : canonicalJson(record.dimensions),
      rater: record.rater === null ? null : canonicalJson(record.rater),
      anonymous: record.anonymous ? 1 : 0,
      signals: record.signals.length > 0 ? record.signals.join(',') : null,
      pad_boot_id: record.pad?.boot_id ?? null,
      pad_press_id: record.pad?.press_id ?? null,
      pad_key: record.pad?.key ?? null,
    });
    return record;
  }

  private readonly insertRecord: Database.Statement;

  /** A rating (or a 未评价 record) given other than by a pad press: one transaction. */
  commitRating(given: RatingGiven, ctx: RatingContext): RatingRecord {
    return this.guard(() => this.db.transaction(() => this.appendRating(given, ctx))());
  }

  /**
   * A pad press: if this (boot_id, press_id) was seen before, its first outcome is returned and
   * nothing is written; otherwise `decide` runs inside the transaction and its result is stored.
   */
  commitPress(
    press: PressInput,
    decide: () => PressDecision,
  ): { outcome: PressOutcome; record: RatingRecord | null; repeat: boolean } {
    return this.guard(() =>
      this.db.transaction(() => {
        const seen = this.db
          .prepare('SELECT outcome FROM pad_presses WHERE pad_boot_id = ? AND press_id = ?')
          .get(press.bootId, press.pressId) as { outcome: number } | undefined;
        if (seen) return { outcome: seen.outcome as PressOutcome, record: null, repeat: true };
        const decision = decide();
        const record = decision.rate ? this.appendRating(decision.given, decision.ctx) : null;
        this.db
          .prepare(
            `INSERT INTO pad_presses (pad_boot_id, press_id, key, outcome, reason, rating_seq, received_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            press.bootId,
            press.pressId,
            press.key,
            record ? 0 : 1,
            decision.rate ? 'rating' : decision.reason,
            record?.seq ?? null,
            this.now().toISOString(),
          );
        return { outcome: (record ? 0 : 1) as PressOutcome, record, repeat: false };
      })(),
    );
  }

  /** The oldest records not yet acked by the hub, in seq order (after `afterSeq`, when given). */
  unsentBatch(limit: number, afterSeq = 0): AnyRatingRecord[] {
    const rows = this.db
      .prepare(`SELECT * FROM ratings WHERE seq > MAX(?, ${ACKED_THROUGH_SQL}) ORDER BY seq LIMIT ?`)
      .all(afterSeq, limit) as RatingRow[];
    return rows.map((r) => rowToRecord(r, this.deviceId));
  }

  /**
   * unsentBatch as JSON bytes, ready to join into an upload body (the uploader's path: see
   * RECORD_JSON_SQL). The hub checks each record's hash over the values, so the key order is free.
   */
  unsentJson(limit: number, afterSeq = 0): UnsentJson[] {
    return prepared(this.db, UNSENT_JSON_SQL).all({
      device: this.deviceId,
      after: afterSeq,
      limit,
    }) as UnsentJson[];
  }

  /** The seq of the oldest record not yet acked, or null when everything is. */
  firstUnsentSeq(): number | null {
    const row = prepared(
      this.db,
      `SELECT MIN(seq) AS s FROM ratings WHERE seq > ${ACKED_THROUGH_SQL}`,
    ).get() as {
      s: number | null;
    };
    return row.s;
  }

  /**
   * Marks what the hub acked: one ack mark, not a write to every rating it covers (migration 6).
   * Returns how many ratings it newly covers. A mark never reaches past the last rating, so one
   * recorded later is never taken as acked. Committed without an fsync of its own (synchronous =
   * NORMAL for this one statement; the next rating's FULL commit makes it durable): a mark lost to
   * a power cut only makes the counter send those ratings again, and the hub stores each once.
   * Ratings themselves are never written this way.
   */
  markAckedThrough(seq: number): number {
    const update = () => {
      const through = Math.min(seq, lastSeq(this.db));
      const before = ackedThrough(this.db);
      if (through <= before) return 0;
      prepared(this.db, INSERT_MARK_SQL).run(through, this.now().toISOString());
      // The rows left are one run of seq (pruning takes the oldest first), so the newly covered
      // ones are those from above the last mark, or from the oldest row left when a rewind went
      // back past pruned ones, up to `through`.
      return through - Math.max(before, firstSeq(this.db) - 1);
    };
    return this.guard(() => {
      // SQLite refuses to change the safety level inside a transaction: there the caller's commit decides.
      if (this.db.inTransaction) return update();
      this.db.pragma('synchronous = NORMAL');
      try {
        return update();
      } finally {
        this.db.pragma('synchronous = FULL');
      }
    });
  }

  /**
   * Ratings the hub kept as dead letters (it cannot read them; the stream went on past them): kept
   * here with the reason, once per seq, so staff and IT see them. Returns how many were new.
   */
  recordDeadLetters(items: { seq: number; event_id: string; reason: string }[]): number {
    if (items.length === 0) return 0;
    const insert = this.db.prepare(
      'INSERT INTO dead_letter (seq, event_id, reason, at) VALUES (?, ?, ?, ?) ON CONFLICT (seq) DO NOTHING',
    );
    const at = this.now().toISOString();
    return this.transact(() =>
      items.reduce((n, d) => n + insert.run(d.seq, d.event_id, d.reason, at).changes, 0),
    );
  }

  /** Dead-letter count and the latest one, for status and the alarm. */
  deadLetterStats(): { count: number; last: { seq: number; reason: string; at: string } | null } {
    return deadLetterStats(this.db);
  }

  /**
   * The hub holds less than we thought (restored from a backup): send again everything after its
   * cursor. Marks past the cursor go; what they covered up to the cursor stays acked, at the time
   * the first of them was given. Returns how many ratings are unacked again.
   */
  rewindTo(cursor: number): number {
    return this.transact(() => {
      const before = ackedThrough(this.db);
      if (before <= cursor) return 0;
      const covering = this.db
        .prepare('SELECT acked_at FROM ack_marks WHERE through_seq > ? ORDER BY through_seq LIMIT 1')
        .get(cursor) as { acked_at: string };
      this.db.prepare('DELETE FROM ack_marks WHERE through_seq > ?').run(cursor);
      if (cursor > ackedThrough(this.db)) prepared(this.db, INSERT_MARK_SQL).run(cursor, covering.acked_at);
      return (
        this.db
          .prepare('SELECT COUNT(*) AS n FROM ratings WHERE seq > ? AND seq <= ?')
          .get(cursor, before) as {
          n: number;
        }
      ).n;
    });
  }

  /**
   * Runs `fn` in one transaction (joining the caller's, as a savepoint, when there is one) and
   * records what a failure says about the disk. Callers that group store writes with other rows
   * (a rating and its audit entry) use this instead of `db.transaction` so that a COMMIT refused
   * for lack of space also turns the store's health to disk_full.
   */
  transact<T>(fn: () => T): T {
    return this.guard(() => this.db.transaction(fn)());
  }

  /**
   * Deletes acked ratings whose ack is older than `olderThanDays`, `batch` rows per transaction,
   * yielding to the event loop between batches so a rating is never kept waiting long. Never
   * deleted: unacked rows (the outbox), and the newest row (the chain head the next rating links
   * to, so seq and prev_hash continue whatever was pruned). Pad press rows stay (a pad may resend
   * a press after a long outage and must get its first outcome again); their rating_seq is
   * cleared. Each batch writes an audit entry naming the pruned range and the last pruned hash.
   */
  async pruneAcked(olderThanDays = 30, batch = 500): Promise<PruneResult> {
    const cutoff = new Date(this.now().getTime() - olderThanDays * DAY_MS).toISOString();
    // Acked before the cutoff: covered by a mark given before it.
    const pick = this.db.prepare(
      `SELECT seq, hash FROM ratings
       WHERE seq <= (SELECT COALESCE(MAX(through_seq), 0) FROM ack_marks WHERE acked_at < ?)
         AND seq < (SELECT MAX(seq) FROM ratings)
       ORDER BY seq LIMIT ?`,
    );
    // Marks below every row left cover nothing any more; the latest always stays (it is the cursor).
    const dropMarks = this.db.prepare(
      `DELETE FROM ack_marks WHERE through_seq < (SELECT MIN(seq) FROM ratings)
         AND through_seq < (SELECT MAX(through_seq) FROM ack_marks)`,
    );
    const unlink = this.db.prepare('UPDATE pad_presses SET rating_seq = NULL WHERE rating_seq = ?');
    const del = this.db.prepare('DELETE FROM ratings WHERE seq = ?');
    const audit = new AuditLog(this.db, this.now);
    const result: PruneResult = { pruned: 0, presses_unlinked: 0, batches: 0 };
    for (;;) {
      const done = this.transact(() => {
        const rows = pick.all(cutoff, batch) as { seq: number; hash: string }[];
        if (rows.length === 0) {
          dropMarks.run();
          return true;
        }
        let unlinked = 0;
        for (const r of rows) {
          unlinked += unlink.run(r.seq).changes;
          del.run(r.seq);
        }
        rows.sort((a, b) => a.seq - b.seq);
        const lastRow = rows[rows.length - 1] as { seq: number; hash: string };
        audit.append('system', 'ratings.pruned', {
          from_seq: rows[0]?.seq,
          to_seq: lastRow.seq,
          count: rows.length,
          last_hash: lastRow.hash,
          older_than_days: olderThanDays,
        });
        result.pruned += rows.length;
        result.presses_unlinked += unlinked;
        result.batches++;
        if (rows.length < batch) dropMarks.run();
        return rows.length < batch;
      });
      if (done) return result;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** The store as `haocha status` and the staff screen show it. */
  view(): StoreView {
    return {
      health: this.healthState,
      message: this.healthText,
      integrity: this.report.integrity,
      damaged_copy: this.report.damagedCopy,
      schema_version: this.report.version,
    };
  }

  /** Called with the new view whenever health changes (ok → disk_full, disk_full → ok, …). */
  onHealthChange(listener: (view: StoreView) => void): () => void {
    this.healthListeners.add(listener);
    return () => this.healthListeners.delete(listener);
  }

  /**
   * One cheap write to see whether the disk takes writes again: a few KiB into a meta key (so a
   * page or two must be allocated, as for a rating), committed, then removed. True when it held;
   * health becomes ok. Runs every probeIntervalMs while unhealthy; callable directly.
   */
  probe(): boolean {
    try {
      const at = this.now().toISOString();
      this.guard(() =>
        this.db
          .prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)')
          .run('health_probe', `${at} ${'.'.repeat(8192)}`),
      );
      this.db.prepare('DELETE FROM meta WHERE key = ?').run('health_probe');
      return true;
    } catch {
      return this.healthState === 'ok';
    }
  }

  /** Runs a write and records what it says about the medium; success of an outermost write proves health. */
  private guard<T>(fn: () => T): T {
    let value: T;
    try {
      value = fn();
    } catch (err) {
      const health = classifyWriteError(err);
      if (health) this.setHealth(health, healthMessage(health, err));
      throw err;
    }
    if (this.healthState !== 'ok' && !this.db.inTransaction) this.setHealth('ok', null);
    this.checkpointSoon();
    return value;
  }

  /**
   * SQLite's automatic checkpoint runs inside the commit that crosses 1000 WAL pages, copying the
   * WAL into the database file with two more fsyncs: the pad would wait for that rating's ACK.
   * Instead, after every CHECKPOINT_SOFT writes a PASSIVE checkpoint is queued for right after the
   * current task; a loop that never yields gets one inline after CHECKPOINT_HARD writes. A failed
   * checkpoint (a full disk) loses nothing: the WAL holds the data and the next one retries.
   */
  private checkpointSoon(): void {
    this.writesSinceCheckpoint++;
    if (this.writesSinceCheckpoint >= CHECKPOINT_HARD && !this.db.inTransaction) {
      this.checkpoint();
    } else if (this.writesSinceCheckpoint >= CHECKPOINT_SOFT && !this.checkpointQueued) {
      this.checkpointQueued = true;
      setImmediate(() => {
        this.checkpointQueued = false;
        if (this.db.open && !this.db.inTransaction) this.checkpoint();
      });
    }
  }

  /** Copies the WAL into the database file as far as readers allow (PASSIVE: never waits). */
  checkpoint(): void {
    try {
      this.db.pragma('wal_checkpoint(PASSIVE)');
      this.writesSinceCheckpoint = 0;
    } catch {
      // Retried after the next writes.
    }
  }

  private setHealth(health: StoreHealth, message: string | null): void {
    const changed = health !== this.healthState || message !== this.healthText;
    this.healthState = health;
    this.healthText = message;
    if (health === 'ok' && this.probeTimer) {
      clearInterval(this.probeTimer);
      this.probeTimer = null;
    } else if (health !== 'ok' && !this.probeTimer && this.db.open) {
      this.probeTimer = setInterval(() => {
        if (this.db.open) this.probe();
      }, this.probeIntervalMs);
      this.probeTimer.unref();
    }
    if (!changed) return;
    if (health !== 'ok') process.emitWarning(`store ${this.path}: ${message}`);
    const view = this.view();
    for (const l of this.healthListeners) {
      try {
        l(view);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  queueStats(): {
    queue_depth: number;
    last_acked_seq: number;
    oldest_unsent_at: string | null;
    last_seq: number;
  } {
    return queueStats(this.db);
  }

  close(): void {
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = null;
    if (this.db.open) this.db.close();
  }
}

/**
 * Queue figures for `haocha status` and heartbeats: two index seeks, whatever the queue's length
 * (COUNT(*) over a million-row queue takes ~100 ms; this stays under a millisecond). Acks only
 * ever cover a prefix of seq (markAckedThrough acks everything up to a seq, rewindTo un-acks
 * everything after a cursor, pruning removes acked rows only) and seq is gap-free, so the queue is
 * exactly the run from its first unacked seq to the last seq.
 */
export function queueStats(db: Db): {
  queue_depth: number;
  last_acked_seq: number;
  oldest_unsent_at: string | null;
  last_seq: number;
} {
  const first = prepared(
    db,
    `SELECT seq, rated_at FROM ratings WHERE seq > ${ACKED_THROUGH_SQL} ORDER BY seq LIMIT 1`,
  ).get() as { seq: number; rated_at: string } | undefined;
  const last = lastSeq(db);
  return {
    queue_depth: first ? last - first.seq + 1 : 0,
    last_acked_seq: first ? first.seq - 1 : last,
    oldest_unsent_at: first?.rated_at ?? null,
    last_seq: last,
  };
}

/** The last seq covered by an ack mark, 0 when none. */
function ackedThrough(db: Db): number {
  return (prepared(db, `SELECT ${ACKED_THROUGH_SQL} AS s`).get() as { s: number }).s;
}

/** The oldest rating's seq left (after pruning), 0 when none. */
function firstSeq(db: Db): number {
  return (prepared(db, 'SELECT COALESCE(MIN(seq), 0) AS s FROM ratings').get() as { s: number }).s;
}

/** The newest rating's seq, 0 when none. */
function lastSeq(db: Db): number {
  return (prepared(db, 'SELECT COALESCE(MAX(seq), 0) AS s FROM ratings').get() as { s: number }).s;
}

/** Dead letters recorded at this counter (readable from a read-only handle, for `haocha status`). */
export function deadLetterStats(db: Db): {
  count: number;
  last: { seq: number; reason: string; at: string } | null;
} {
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dead_letter'").get();
  if (!has) return { count: 0, last: null };
  const n = db.prepare('SELECT COUNT(*) AS n FROM dead_letter').get() as { n: number };
  const last = db.prepare('SELECT seq, reason, at FROM dead_letter ORDER BY seq DESC LIMIT 1').get() as
    | { seq: number; reason: string; at: string }
    | undefined;
  return { count: n.n, last: last ?? null };
}
