import { createHash } from 'node:crypto';
import { type AnyRatingRecord, chainInput, type IngestBatch } from '../src-shared/index.ts';
import type { IngestRejection } from './store/types.ts';

/**
 * The sync rules of architecture.md as pure functions, so every store engine applies the same ones
 * inside its own transaction: the engine only supplies the cursor and the links it already holds.
 */

/**
 * SHA-256 of a record, current or legacy: both hash the canonical JSON of exactly the fields they
 * carry, so a chain runs on from legacy records to current ones. (chainInput is typed for current
 * bodies only; its canonical form is the same for a legacy one.)
 */
export function recordHash(record: AnyRatingRecord): string {
  return createHash('sha256').update(chainInput(record), 'utf8').digest('hex');
}

/** First item whose `hash` is not the SHA-256 of its content, as a rejection; null when all match. */
export function verifyHashes(batch: IngestBatch): IngestRejection | null {
  for (const [i, item] of batch.items.entries()) {
    if (recordHash(item) !== item.hash) {
      return {
        code: 'HASH_MISMATCH',
        message: `items.${i}.hash: does not match the SHA-256 of the record (seq ${item.seq})`,
      };
    }
  }
  return null;
}

/** The device's chain head at the hub: seq 0 and GENESIS_HASH for a device never seen. */
export interface ChainHead {
  seq: number;
  hash: string;
}

/** What the hub holds at one (device, seq) of the chain. */
export interface ChainLink {
  event_id: string;
  hash: string;
}

export type IngestPlan =
  | { ok: true; known: AnyRatingRecord[]; fresh: AnyRatingRecord[] }
  | { ok: false; rejection: IngestRejection };

/**
 * Splits a batch (consecutive seqs, hashes verified) into items the hub already holds and items that
 * extend the chain, or rejects it. `held` must return the link stored at every seq ≤ head.seq in
 * the batch's range.
 */
export function planIngest(
  batch: IngestBatch,
  head: ChainHead,
  held: (seq: number) => ChainLink | undefined,
): IngestPlan {
  const known: AnyRatingRecord[] = [];
  const fresh: AnyRatingRecord[] = [];
  const cursor = head.seq;
  let expectedPrev = head.hash;
  for (const [i, item] of batch.items.entries()) {
    if (item.seq <= cursor) {
      const link = held(item.seq);
      if (!link || link.event_id !== item.event_id || link.hash !== item.hash) {
        const what = link ? 'holds a different record' : 'holds no record';
        return reject('CONFLICT', `items.${i}: the hub ${what} at seq ${item.seq} for this device`, cursor);
      }
      known.push(item);
      continue;
    }
    if (fresh.length === 0 && item.seq !== cursor + 1) {
      return reject(
        'SEQ_GAP',
        `items.${i}.seq: ${item.seq} does not follow the hub's cursor ${cursor}`,
        cursor,
      );
    }
    // The first new item links to the hub's head; the rest to the item before them in the batch.
    if (item.prev_hash !== expectedPrev) {
      return reject(
        'CHAIN_MISMATCH',
        `items.${i}.prev_hash: does not match the hash of seq ${item.seq - 1}`,
        cursor,
      );
    }
    fresh.push(item);
    expectedPrev = item.hash;
  }
  return { ok: true, known, fresh };
}

function reject(code: IngestRejection['code'], message: string, cursor: number): IngestPlan {
  return { ok: false, rejection: { code, message, cursor } };
}
