import { createHash } from 'node:crypto';
import { plainGiven, type RatingContext, type RatingGiven } from '../../src-main/core/store/counter-store.ts';
import type { Db } from '../../src-main/core/store/open.ts';
import { chainInput, GENESIS_HASH, type Level, type RatingBody } from '../../src-shared/index.ts';

/** A rating's context as the session gives it: a case from the business system, a pad. */
export function ratingCtx(over: Partial<RatingContext> = {}): RatingContext {
  return {
    channel: 4,
    case_ref: 'C-2026-0001',
    item_code: 'T-001',
    item_name: '营业执照办理',
    case_status: 'accepted',
    accepted_at: '2026-11-26T01:50:00.000Z',
    finished_at: null,
    dept_id: 'D-SCJ',
    rater_type: 'person',
    rater: null,
    staff_no: '090317',
    staff_name: '李明',
    window_id: 'W03',
    hall_id: 'DIV9-MAIN',
    config_version: 'cfg-1',
    opened_at: '2026-11-26T02:00:00.000Z',
    source: 'screen',
    pad: null,
    signals: [],
    ...over,
  };
}

export function given(level: Level): RatingGiven {
  return plainGiven(level, 'dict-1');
}

export interface ChainVerdict {
  ok: boolean;
  rows: number;
  first: number | null;
  last: number | null;
  problem: string | null;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Walks every stored rating in seq order with rowToRecord's shape: seq gap-free from the first
 * kept row (pruned rows leave a prefix gap only), prev_hash links, hash = SHA-256 of chainInput.
 * `fromGenesis` demands the stream starts at seq 1 with the genesis hash.
 */
export function verifyRatingChain(
  db: Db,
  toRecord: (row: never) => object,
  fromGenesis = true,
): ChainVerdict {
  let prevSeq: number | null = null;
  let prevHash: string | null = null;
  let first: number | null = null;
  let rows = 0;
  for (const row of db.prepare('SELECT * FROM ratings ORDER BY seq').iterate()) {
    const rec = toRecord(row as never) as RatingBody & { hash: string };
    rows++;
    if (first === null) {
      first = rec.seq;
      if (fromGenesis && (rec.seq !== 1 || rec.prev_hash !== GENESIS_HASH))
        return { ok: false, rows, first, last: rec.seq, problem: `stream starts at ${rec.seq}` };
    } else {
      if (rec.seq !== (prevSeq as number) + 1)
        return { ok: false, rows, first, last: rec.seq, problem: `gap before ${rec.seq}` };
      if (rec.prev_hash !== prevHash)
        return { ok: false, rows, first, last: rec.seq, problem: `prev_hash at ${rec.seq}` };
    }
    if (sha256Hex(chainInput(rec)) !== rec.hash)
      return { ok: false, rows, first, last: rec.seq, problem: `hash at ${rec.seq}` };
    prevSeq = rec.seq;
    prevHash = rec.hash;
  }
  return { ok: true, rows, first, last: prevSeq, problem: null };
}
