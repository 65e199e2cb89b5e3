import { createHash } from 'node:crypto';
import { v7 } from 'uuid';
import {
  chainInput,
  GENESIS_HASH,
  type IngestBatch,
  type Level,
  type RatingBody,
  type RatingRecord,
} from '../../src-shared/index.ts';

/** Test builders for valid, hash-chained rating streams (computed independently of hub/ code). */

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Fills in `hash` for a body. */
export function seal(body: RatingBody): RatingRecord {
  return { ...body, hash: sha256Hex(chainInput(body)) };
}

export interface StreamOptions {
  deviceId?: string;
  count: number;
  hallId?: string;
  /** Window of item i (0-based); default 'W01'. */
  windowId?: (i: number) => string;
  /** Level of item i; default cycles 5,4,3,2,1. */
  level?: (i: number) => Level;
  /** rated_at of item i; default one minute apart from 2026-11-27T02:00:00Z (10:00 in Shanghai). */
  ratedAt?: (i: number) => string;
}

const appBootId = v7();

/** A valid stream: seq 1..count, each prev_hash the hash before it (GENESIS_HASH first). */
export function makeStream(options: StreamOptions): RatingRecord[] {
  const deviceId = options.deviceId ?? 'counter-01';
  const out: RatingRecord[] = [];
  let prev = GENESIS_HASH;
  for (let i = 0; i < options.count; i++) {
    const ratedAt = options.ratedAt?.(i) ?? new Date(Date.UTC(2026, 10, 27, 2, 0) + i * 60_000).toISOString();
    const record = seal({
      event_id: v7(),
      device_id: deviceId,
      seq: i + 1,
      level: options.level?.(i) ?? ((5 - (i % 5)) as Level),
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
    });
    out.push(record);
    prev = record.hash;
  }
  return out;
}

/**
 * The same stream forked at `atSeq`: from there on the content differs (another level) and the
 * chain is re-linked, as a cloned or rolled-back counter would produce.
 */
export function forkStream(stream: readonly RatingRecord[], atSeq: number): RatingRecord[] {
  const out: RatingRecord[] = [];
  let prev = GENESIS_HASH;
  for (const record of stream) {
    if (record.seq < atSeq) {
      out.push(record);
      prev = record.hash;
      continue;
    }
    const { hash: _old, ...body } = record;
    const forked = seal({ ...body, event_id: v7(), level: record.level === 1 ? 5 : 1, prev_hash: prev });
    out.push(forked);
    prev = forked.hash;
  }
  return out;
}

/** Records with seq from..to (inclusive) as one batch. */
export function batchOf(stream: readonly RatingRecord[], from: number, to: number): IngestBatch {
  const items = stream.filter((r) => r.seq >= from && r.seq <= to);
  const first = items[0];
  if (!first) throw new Error(`no records in ${from}..${to}`);
  return { device_id: first.device_id, items };
}
