import { createHash } from 'node:crypto';
import { canonicalJson, GENESIS_HASH } from '../../../src-shared/index.ts';
import type { Db } from '../store/open.ts';

/** One row of the counter's audit log (电子监察). */
export interface AuditEntry {
  seq: number;
  at: string;
  /** Who did it: `staff:<staff_no>`, `citizen`, `api:<caller>`, `system`. */
  actor: string;
  action: string;
  /** Canonical JSON. Never an individual rating's level (threat T2). */
  details: string;
  prev_hash: string;
  hash: string;
}

export type AuditDetails = Record<string, unknown>;

/** Keys that must never reach the audit log: a rating's level is the citizen's private choice. */
const FORBIDDEN_KEYS = new Set(['level', 'pin', 'token', 'phone']);

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The text whose SHA-256 is a row's `hash`: every field but `hash`, canonically. */
export function auditChainInput(e: Omit<AuditEntry, 'hash'>): string {
  return canonicalJson({
    seq: e.seq,
    at: e.at,
    actor: e.actor,
    action: e.action,
    details: e.details,
    prev_hash: e.prev_hash,
  });
}

function checkDetails(value: unknown, path: string): void {
  if (value === null || typeof value !== 'object') return;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (FORBIDDEN_KEYS.has(k)) throw new Error(`audit details must not carry "${k}" (at ${path}${k})`);
    checkDetails(v, `${path}${k}.`);
  }
}

/**
 * Append-only, hash-chained audit log in the counter's store. `append` joins the caller's
 * transaction when there is one (better-sqlite3 nests transactions as savepoints), so an entry
 * and the store write it records commit or roll back together.
 */
export class AuditLog {
  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {}

  append(actor: string, action: string, details: AuditDetails = {}): AuditEntry {
    checkDetails(details, '');
    return this.db.transaction(() => {
      const last = this.db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as
        | { seq: number; hash: string }
        | undefined;
      const body = {
        seq: (last?.seq ?? 0) + 1,
        at: this.now().toISOString(),
        actor,
        action,
        details: canonicalJson(details),
        prev_hash: last?.hash ?? GENESIS_HASH,
      };
      const entry: AuditEntry = { ...body, hash: sha256Hex(auditChainInput(body)) };
      this.db
        .prepare(
          `INSERT INTO audit_log (seq, at, actor, action, details, prev_hash, hash)
           VALUES (@seq, @at, @actor, @action, @details, @prev_hash, @hash)`,
        )
        .run(entry);
      return entry;
    })();
  }

  /** The last `limit` entries, newest last. */
  tail(limit = 50): AuditEntry[] {
    const rows = this.db
      .prepare('SELECT * FROM audit_log ORDER BY seq DESC LIMIT ?')
      .all(limit) as AuditEntry[];
    return rows.reverse();
  }

  head(): { seq: number; hash: string } {
    const last = this.db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as
      | { seq: number; hash: string }
      | undefined;
    return last ?? { seq: 0, hash: GENESIS_HASH };
  }
}

export type AuditVerdict =
  | { ok: true; entries: number; head: string }
  | {
      ok: false;
      entries: number;
      /** The first row that does not hold: its seq, and what is wrong with it. */
      broken_seq: number;
      reason: 'seq_gap' | 'prev_hash_mismatch' | 'hash_mismatch';
    };

/**
 * Walks the whole chain from seq 1 and reports the first row that was altered, removed or
 * inserted: a gap in seq, a prev_hash that is not the previous row's hash, or a hash that does
 * not match the row's content.
 */
export function verifyAuditChain(db: Db): AuditVerdict {
  let prev = GENESIS_HASH;
  let expected = 1;
  let n = 0;
  for (const row of db.prepare('SELECT * FROM audit_log ORDER BY seq').iterate() as Iterable<AuditEntry>) {
    n++;
    if (row.seq !== expected) return { ok: false, entries: n, broken_seq: expected, reason: 'seq_gap' };
    if (row.prev_hash !== prev)
      return { ok: false, entries: n, broken_seq: row.seq, reason: 'prev_hash_mismatch' };
    if (sha256Hex(auditChainInput(row)) !== row.hash)
      return { ok: false, entries: n, broken_seq: row.seq, reason: 'hash_mismatch' };
    prev = row.hash;
    expected++;
  }
  return { ok: true, entries: n, head: prev };
}
