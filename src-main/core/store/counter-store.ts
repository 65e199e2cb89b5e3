import { createHash } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import {
  chainInput,
  GENESIS_HASH,
  type Level,
  type PadPress,
  type RatingBody,
  type RatingRecord,
} from '../../../src-shared/index.ts';
import { type Db, type OpenReport, openStore } from './open.ts';

/** What a rating needs besides its level: who served, where, and how it was given. */
export interface RatingContext {
  channel: 4 | 5;
  case_ref: string | null;
  staff_no: string;
  staff_name: string;
  window_id: string;
  hall_id: string;
  opened_at: string;
  source: 'pad' | 'screen';
  pad: PadPress | null;
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
  | { rate: true; level: Level; ctx: RatingContext }
  | { rate: false; reason: string };

interface RatingRow {
  seq: number;
  event_id: string;
  level: number;
  channel: number;
  case_ref: string | null;
  staff_no: string;
  staff_name: string;
  window_id: string;
  hall_id: string;
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

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function rowToRecord(row: RatingRow, deviceId: string): RatingRecord {
  return {
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
    pad:
      row.pad_boot_id === null || row.pad_press_id === null || row.pad_key === null
        ? null
        : { boot_id: row.pad_boot_id, press_id: row.pad_press_id, key: row.pad_key },
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}

/**
 * The counter's durable state. Every write is one FULL-sync transaction, so once a method
 * returns, the rating survives a power cut; callers tell the citizen or the pad only after.
 */
export class CounterStore {
  readonly db: Db;
  readonly report: OpenReport;
  readonly deviceId: string;
  private readonly appBootId = uuidv7();
  private readonly started = performance.now();

  constructor(
    readonly path: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    const { db, report } = openStore(path, now);
    this.db = db;
    this.report = report;
    this.deviceId = this.meta('device_id') ?? this.initDeviceId();
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

  private appendRating(level: Level, ctx: RatingContext): RatingRecord {
    const last = this.db.prepare('SELECT seq, hash FROM ratings ORDER BY seq DESC LIMIT 1').get() as
      | { seq: number; hash: string }
      | undefined;
    const body: RatingBody = {
      event_id: uuidv7(),
      device_id: this.deviceId,
      seq: (last?.seq ?? 0) + 1,
      level,
      channel: ctx.channel,
      case_ref: ctx.case_ref,
      staff_no: ctx.staff_no,
      staff_name: ctx.staff_name,
      window_id: ctx.window_id,
      hall_id: ctx.hall_id,
      opened_at: ctx.opened_at,
      rated_at: this.now().toISOString(),
      mono_ms: Math.round((performance.now() - this.started) * 1000) / 1000,
      app_boot_id: this.appBootId,
      source: ctx.source,
      pad: ctx.pad,
      prev_hash: last?.hash ?? GENESIS_HASH,
    };
    const record: RatingRecord = { ...body, hash: sha256Hex(chainInput(body)) };
    this.db
      .prepare(
        `INSERT INTO ratings (seq, event_id, level, channel, case_ref, staff_no, staff_name, window_id, hall_id,
           opened_at, rated_at, mono_ms, app_boot_id, source, pad_boot_id, pad_press_id, pad_key, prev_hash, hash)
         VALUES (@seq, @event_id, @level, @channel, @case_ref, @staff_no, @staff_name, @window_id, @hall_id,
           @opened_at, @rated_at, @mono_ms, @app_boot_id, @source, @pad_boot_id, @pad_press_id, @pad_key, @prev_hash, @hash)`,
      )
      .run({
        ...record,
        pad: undefined,
        pad_boot_id: record.pad?.boot_id ?? null,
        pad_press_id: record.pad?.press_id ?? null,
        pad_key: record.pad?.key ?? null,
      });
    return record;
  }

  /** A rating given on the touch screen. */
  commitScreenRating(level: Level, ctx: RatingContext): RatingRecord {
    return this.db.transaction(() => this.appendRating(level, ctx))();
  }

  /**
   * A pad press: if this (boot_id, press_id) was seen before, its first outcome is returned and
   * nothing is written; otherwise `decide` runs inside the transaction and its result is stored.
   */
  commitPress(
    press: PressInput,
    decide: () => PressDecision,
  ): { outcome: PressOutcome; record: RatingRecord | null; repeat: boolean } {
    return this.db.transaction(() => {
      const seen = this.db
        .prepare('SELECT outcome FROM pad_presses WHERE pad_boot_id = ? AND press_id = ?')
        .get(press.bootId, press.pressId) as { outcome: number } | undefined;
      if (seen) return { outcome: seen.outcome as PressOutcome, record: null, repeat: true };
      const decision = decide();
      const record = decision.rate ? this.appendRating(decision.level, decision.ctx) : null;
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
    })();
  }

  /** The oldest records not yet acked by the hub, in seq order. */
  unsentBatch(limit: number): RatingRecord[] {
    const rows = this.db
      .prepare('SELECT * FROM ratings WHERE acked_at IS NULL ORDER BY seq LIMIT ?')
      .all(limit) as RatingRow[];
    return rows.map((r) => rowToRecord(r, this.deviceId));
  }

  markAckedThrough(seq: number): number {
    return this.db
      .prepare('UPDATE ratings SET acked_at = ? WHERE seq <= ? AND acked_at IS NULL')
      .run(this.now().toISOString(), seq).changes;
  }

  /** The hub holds less than we thought (restored from a backup): send again everything after its cursor. */
  rewindTo(cursor: number): number {
    return this.db
      .prepare('UPDATE ratings SET acked_at = NULL WHERE seq > ? AND acked_at IS NOT NULL')
      .run(cursor).changes;
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
    if (this.db.open) this.db.close();
  }
}

export function queueStats(db: Db): {
  queue_depth: number;
  last_acked_seq: number;
  oldest_unsent_at: string | null;
  last_seq: number;
} {
  const q = db
    .prepare('SELECT COUNT(*) AS n, MIN(rated_at) AS oldest FROM ratings WHERE acked_at IS NULL')
    .get() as { n: number; oldest: string | null };
  const acked = db.prepare('SELECT MAX(seq) AS s FROM ratings WHERE acked_at IS NOT NULL').get() as {
    s: number | null;
  };
  const last = db.prepare('SELECT MAX(seq) AS s FROM ratings').get() as { s: number | null };
  return {
    queue_depth: q.n,
    last_acked_seq: acked.s ?? 0,
    oldest_unsent_at: q.oldest,
    last_seq: last.s ?? 0,
  };
}
