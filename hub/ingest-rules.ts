import * as crypto from 'node:crypto';
import type { z } from 'zod';
import {
  type AnyRatingRecord,
  chainInput,
  currentIngestBatchSchema,
  type IngestReply,
  ingestBatchSchema,
  ingestEnvelopeBatchSchema,
  ingestItemSchema,
} from '../src-shared/index.ts';
import { fastCurrentBatch } from './ingest-fast-check.ts';
import type { DeadLetterItem, HubIngestBatch, HubIngestItem, IngestRejection } from './store/types.ts';

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
  return sha256Hex(chainInput(record));
}

/**
 * SHA-256 of a text as hex. crypto.hash (Node 20.12 and later) skips making a Hash object, which
 * for a record-sized text is a fifth of the cost; older runtimes take the long way.
 */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;
function sha256Hex(text: string): string {
  return oneShot
    ? oneShot('sha256', text, 'hex')
    : crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}

export function isDeadLetterItem(item: HubIngestItem): item is DeadLetterItem {
  return (item as Partial<DeadLetterItem>).dead_letter === true;
}

/** The SHA-256 an item must carry: of the record, or for a dead letter of the item exactly as it came. */
export function itemHash(item: HubIngestItem): string {
  if (!isDeadLetterItem(item)) return recordHash(item);
  return sha256Hex(chainInput(item.raw as unknown as AnyRatingRecord));
}

/** First item whose `hash` is not the SHA-256 of its content, as a rejection; null when all match. */
export function verifyHashes(batch: HubIngestBatch): IngestRejection | null {
  for (const [i, item] of batch.items.entries()) {
    if (itemHash(item) !== item.hash) {
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
  /** Set when the hub holds this seq as a dead letter: its reason, so a resend hears it again. */
  dead_letter?: string | null;
}

export type IngestPlan =
  | {
      ok: true;
      known: HubIngestItem[];
      /** The reply status of each `known` item, in the same order (duplicate, or dead_letter again). */
      knownStatus: IngestReply['items'];
      fresh: HubIngestItem[];
    }
  | { ok: false; rejection: IngestRejection };

/**
 * Splits a batch (consecutive seqs, hashes verified) into items the hub already holds and items that
 * extend the chain, or rejects it. `held` must return the link stored at every seq ≤ head.seq in
 * the batch's range.
 */
export function planIngest(
  batch: HubIngestBatch,
  head: ChainHead,
  held: (seq: number) => ChainLink | undefined,
): IngestPlan {
  const known: HubIngestItem[] = [];
  const knownStatus: IngestReply['items'] = [];
  const fresh: HubIngestItem[] = [];
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
      knownStatus.push(
        link.dead_letter
          ? { seq: item.seq, status: 'dead_letter', reason: link.dead_letter }
          : { seq: item.seq, status: 'duplicate' },
      );
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
  return { ok: true, known, knownStatus, fresh };
}

function reject(code: IngestRejection['code'], message: string, cursor: number): IngestPlan {
  return { ok: false, rejection: { code, message, cursor } };
}

export type ReadBatch = { ok: true; batch: HubIngestBatch } | { ok: false; error: z.ZodError };

/** Longest dead-letter reason kept: the first issues say enough, and the record itself is kept whole. */
const MAX_REASON = 500;

/**
 * Reads an ingest body. A fully valid batch is returned as parsed. Otherwise, when the counter
 * takes dead letters, each item whose envelope is sound (device, seq order, event_id, prev_hash,
 * hash) and whose hash is the SHA-256 of the item as sent, but whose body fails the record schema,
 * becomes a dead-letter item in its seq place. Anything else (a bad envelope, a body that fails and
 * does not match its hash) fails the whole batch with the record schema's error, as before.
 */
export function readIngestBatch(body: unknown, acceptDeadLetters: boolean): ReadBatch {
  // The common batch, current records only, takes the compiled check, then the direct one (the
  // same result); any other, and any both refuse, the full one (its errors and its dead letters).
  if (allCurrent(body)) {
    const fast = fastCurrentBatch(body);
    if (fast) return { ok: true, batch: fast };
    const current = currentIngestBatchSchema.safeParse(body);
    if (current.success) return { ok: true, batch: current.data };
  }
  const parsed = ingestBatchSchema.safeParse(body);
  if (parsed.success) return { ok: true, batch: parsed.data };
  if (!acceptDeadLetters) return { ok: false, error: parsed.error };
  const envelope = ingestEnvelopeBatchSchema.safeParse(body);
  if (!envelope.success) return { ok: false, error: parsed.error };
  const items: HubIngestItem[] = [];
  for (const raw of envelope.data.items) {
    const item = ingestItemSchema.safeParse(raw);
    if (item.success) {
      items.push(item.data);
      continue;
    }
    const dead: DeadLetterItem = {
      dead_letter: true,
      device_id: raw.device_id,
      seq: raw.seq,
      event_id: raw.event_id,
      prev_hash: raw.prev_hash,
      hash: raw.hash,
      raw: raw as Record<string, unknown>,
      reason: item.error.issues
        .map((issue) => `${issue.path.join('.') || '(record)'}: ${issue.message}`)
        .join('; ')
        .slice(0, MAX_REASON),
    };
    // A body that fails and does not hash to its hash is damage or tampering, not a newer app.
    if (itemHash(dead) !== dead.hash) return { ok: false, error: parsed.error };
    items.push(dead);
  }
  return { ok: true, batch: { device_id: envelope.data.device_id, items } };
}

/** A body whose items are all objects carrying their own `outcome` (ingestItemSchema's mark of a current record). */
function allCurrent(body: unknown): boolean {
  if (body === null || typeof body !== 'object') return false;
  const { items } = body as { items?: unknown };
  return (
    Array.isArray(items) &&
    items.every((item) => item !== null && typeof item === 'object' && Object.hasOwn(item, 'outcome'))
  );
}
