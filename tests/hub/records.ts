import { createHash } from 'node:crypto';
import { v7 } from 'uuid';
import {
  type AnyRatingRecord,
  canonicalJson,
  type FraudSignal,
  GENESIS_HASH,
  type IngestBatch,
  type LegacyRatingRecord,
  type Level,
  type RatingOutcome,
  type RatingRecord,
} from '../../src-shared/index.ts';

/** Test builders for valid, hash-chained rating streams (computed independently of hub/ code). */

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Fills in `hash` for a body, current or legacy: SHA-256 of its canonical JSON (chain.ts). */
export function seal<B extends Omit<AnyRatingRecord, 'hash'>>(body: B): B & { hash: string } {
  const { hash: _drop, ...rest } = body as B & { hash?: string };
  return { ...body, hash: sha256Hex(canonicalJson(rest)) };
}

/** Whether a record's hash is the SHA-256 of the rest of it. */
export function verifies(record: AnyRatingRecord): boolean {
  const { hash, ...rest } = record;
  return sha256Hex(canonicalJson(rest)) === hash;
}

/** The reason fields a current record must carry with a level (a 差评 asks for a reason). */
export function reasonFields(level: Level | null) {
  return level !== null && level <= 2
    ? { reason_status: 'given' as const, reasons: [`${level}01`], reason_dict_version: 'RD-2026.1' }
    : { reason_status: 'not_required' as const, reasons: [], reason_dict_version: null };
}

export interface StreamOptions {
  deviceId?: string;
  count: number;
  hallId?: string;
  /** Window of item i (0-based); default 'W01'. */
  windowId?: (i: number) => string;
  /** Level of item i; default cycles 5,4,3,2,1. Ignored when the item is not_rated. */
  level?: (i: number) => Level;
  /** rated_at of item i; default one minute apart from 2026-11-27T02:00:00Z (10:00 in Shanghai). */
  ratedAt?: (i: number) => string;
  /** Legacy (pre-upgrade) shape for item i; default none. */
  legacy?: (i: number) => boolean;
  /** Outcome of a current item i; default rated. */
  outcome?: (i: number) => RatingOutcome;
  /** Anti-fraud signals of a current item i; default none. */
  signals?: (i: number) => FraudSignal[];
}

const appBootId = v7();

/** A valid stream: seq 1..count, each prev_hash the hash before it (GENESIS_HASH first). */
export function makeStream(options: StreamOptions): AnyRatingRecord[] {
  const deviceId = options.deviceId ?? 'counter-01';
  const out: AnyRatingRecord[] = [];
  let prev = GENESIS_HASH;
  for (let i = 0; i < options.count; i++) {
    const ratedAt = options.ratedAt?.(i) ?? new Date(Date.UTC(2026, 10, 27, 2, 0) + i * 60_000).toISOString();
    const level = options.level?.(i) ?? ((5 - (i % 5)) as Level);
    const legacy: Omit<LegacyRatingRecord, 'hash'> = {
      event_id: v7(),
      device_id: deviceId,
      seq: i + 1,
      level,
      channel: 4,
      case_ref: i % 3 === 0 ? null : `BJ2026-${String(i).padStart(6, '0')}`,
      staff_no: 'S0042',
      staff_name: '张三',
      window_id: options.windowId?.(i) ?? 'W01',
      hall_id: options.hallId ?? 'H-DIV',
      opened_at: new Date(Date.parse(ratedAt) - 30_000).toISOString(),
      rated_at: ratedAt,
      mono_ms: 1000 + i * 60_000,
      app_boot_id: appBootId,
      source: i % 2 === 0 ? 'pad' : 'screen',
      pad: i % 2 === 0 ? { boot_id: 7, press_id: i + 1, key: 1 } : null,
      prev_hash: prev,
    };
    const record = options.legacy?.(i)
      ? seal(legacy)
      : seal(currentBody(legacy, options.outcome?.(i) ?? 'rated', options.signals?.(i) ?? [], i));
    out.push(record);
    prev = record.hash;
  }
  return out;
}

/** A stream of legacy records only, as a counter wrote them before the upgrade. */
export function makeLegacyStream(options: Omit<StreamOptions, 'legacy' | 'outcome' | 'signals'>) {
  return makeStream({ ...options, legacy: () => true }) as LegacyRatingRecord[];
}

/** The current record for the same rating, with the national fields filled in as a counter would. */
function currentBody(
  base: Omit<LegacyRatingRecord, 'hash'>,
  outcome: RatingOutcome,
  signals: FraudSignal[],
  i: number,
): Omit<RatingRecord, 'hash'> {
  const level = outcome === 'rated' ? base.level : null;
  const withCase = base.case_ref !== null;
  const anonymous = i % 4 !== 1;
  return {
    ...base,
    outcome,
    level,
    source: outcome === 'not_rated' ? 'timeout' : base.source,
    pad: outcome === 'not_rated' ? null : base.pad,
    item_code: withCase ? '11650900MB1234567X400011800100001' : null,
    item_name: withCase ? '个体工商户设立登记' : null,
    case_status: withCase ? '3' : null,
    accepted_at: withCase ? new Date(Date.parse(base.opened_at) - 600_000).toISOString() : null,
    finished_at: withCase ? base.opened_at : null,
    assess_number: 1,
    ...reasonFields(level),
    dimensions: level !== null && i % 2 === 0 ? { attitude: level, efficiency: 5 } : null,
    free_text: level !== null && level <= 2 ? '等候时间太长' : null,
    rater_type: withCase ? 'person' : 'unknown',
    anonymous,
    rater: anonymous ? null : { name: '李四', phone: '13800000000' },
    signals,
    dept_id: 'D-SCJ',
    config_version: 'cfg-2026.11.1',
  };
}

/**
 * The same stream forked at `atSeq`: from there on the content differs (another level) and the
 * chain is re-linked, as a cloned or rolled-back counter would produce.
 */
export function forkStream(stream: readonly AnyRatingRecord[], atSeq: number): AnyRatingRecord[] {
  const out: AnyRatingRecord[] = [];
  let prev = GENESIS_HASH;
  for (const record of stream) {
    if (record.seq < atSeq) {
      out.push(record);
      prev = record.hash;
      continue;
    }
    const { hash: _old, ...body } = record;
    const level: Level = record.level === 1 ? 5 : 1;
    const changed =
      'outcome' in body ? { ...body, level, outcome: 'rated' as const, ...reasonFields(level) } : body;
    const forked = seal({ ...changed, level, event_id: v7(), prev_hash: prev });
    out.push(forked);
    prev = forked.hash;
  }
  return out;
}

/** Records with seq from..to (inclusive) as one batch. */
export function batchOf(stream: readonly AnyRatingRecord[], from: number, to: number): IngestBatch {
  const items = stream.filter((r) => r.seq >= from && r.seq <= to);
  const first = items[0];
  if (!first) throw new Error(`no records in ${from}..${to}`);
  return { device_id: first.device_id, items };
}
