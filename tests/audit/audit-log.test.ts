import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AuditEntry, AuditLog, verifyAuditChain } from '../../src-main/core/audit/audit-log.ts';
import { defaultCounterConfig } from '../../src-main/core/config.ts';
import { Counter } from '../../src-main/core/counter.ts';
import { CounterStore } from '../../src-main/core/store/counter-store.ts';
import { MIGRATIONS } from '../../src-main/core/store/migrations.ts';
import type { Db } from '../../src-main/core/store/open.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-audit-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const offline: typeof fetch = async () => {
  throw new Error('offline');
};

function makeCounter() {
  return new Counter({
    dataDir: dir,
    hubUrl: 'http://127.0.0.1:9',
    config: defaultCounterConfig(),
    fetchImpl: offline,
  });
}

function entries(db: Db): AuditEntry[] {
  return db.prepare('SELECT * FROM audit_log ORDER BY seq').all() as AuditEntry[];
}

/** What a tamperer with the file does: the append-only triggers are just SQL, so drop them first. */
function dropGuards(db: Db): void {
  db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;');
}

describe('audit log', () => {
  it('chains entries gap-free and verifies', () => {
    const store = new CounterStore(join(dir, 'counter.db'));
    const audit = new AuditLog(store.db);
    for (let i = 0; i < 5; i++) audit.append('system', 'test', { i });
    const rows = entries(store.db);
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(rows[1]?.prev_hash).toBe(rows[0]?.hash);
    expect(verifyAuditChain(store.db)).toEqual({ ok: true, entries: 5, head: rows[4]?.hash });
    expect(audit.head()).toEqual({ seq: 5, hash: rows[4]?.hash });
    store.close();
  });

  it('refuses UPDATE and DELETE through SQL', () => {
    const store = new CounterStore(join(dir, 'counter.db'));
    new AuditLog(store.db).append('system', 'test', {});
    expect(() => store.db.prepare("UPDATE audit_log SET actor = 'x'").run()).toThrow(/append-only/);
    expect(() => store.db.prepare('DELETE FROM audit_log').run()).toThrow(/append-only/);
    store.close();
  });

  it('detects a row edited with raw SQL and names the first broken row', () => {
    const store = new CounterStore(join(dir, 'counter.db'));
    const audit = new AuditLog(store.db);
    for (let i = 0; i < 6; i++) audit.append('staff:090317', 'rating.open', { case_ref: `C-${i}` });
    dropGuards(store.db);
    store.db.prepare(`UPDATE audit_log SET details = '{"case_ref":"C-X"}' WHERE seq = 3`).run();
    expect(verifyAuditChain(store.db)).toMatchObject({ ok: false, broken_seq: 3, reason: 'hash_mismatch' });
    store.close();
  });

  it('detects a row whose hash was recomputed after editing (the next row no longer links)', () => {
    const store = new CounterStore(join(dir, 'counter.db'));
    const audit = new AuditLog(store.db);
    for (let i = 0; i < 4; i++) audit.append('system', 'test', { i });
    dropGuards(store.db);
    store.db.prepare(`UPDATE audit_log SET hash = '${'a'.repeat(64)}' WHERE seq = 2`).run();
    const v = verifyAuditChain(store.db);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.broken_seq).toBe(2);
    store.close();
  });

  it('detects a deleted row', () => {
    const store = new CounterStore(join(dir, 'counter.db'));
    const audit = new AuditLog(store.db);
    for (let i = 0; i < 4; i++) audit.append('system', 'test', { i });
    dropGuards(store.db);
    store.db.prepare('DELETE FROM audit_log WHERE seq = 2').run();
    expect(verifyAuditChain(store.db)).toMatchObject({ ok: false, broken_seq: 2, reason: 'seq_gap' });
    store.close();
  });

  it('finds the first altered row wherever a random edit lands (property)', () => {
    const store = new CounterStore(join(dir, 'counter.db'));
    const audit = new AuditLog(store.db);
    for (let i = 0; i < 30; i++) audit.append(i % 2 ? 'citizen' : 'staff:1', `a${i % 4}`, { i });
    dropGuards(store.db);
    const original = entries(store.db);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.constantFrom('at', 'actor', 'action', 'details', 'prev_hash', 'hash'),
        (seq, column) => {
          const row = original[seq - 1] as AuditEntry;
          const forged =
            column === 'details' ? '{"i":-1}' : column.endsWith('hash') ? 'f'.repeat(64) : 'forged';
          store.db.prepare(`UPDATE audit_log SET ${column} = ? WHERE seq = ?`).run(forged, seq);
          try {
            const v = verifyAuditChain(store.db);
            expect(v.ok).toBe(false);
            if (!v.ok) expect(v.broken_seq).toBe(seq);
          } finally {
            store.db.prepare(`UPDATE audit_log SET ${column} = ? WHERE seq = ?`).run(row[column], seq);
          }
        },
      ),
      { numRuns: 100 },
    );
    expect(verifyAuditChain(store.db).ok).toBe(true);
    store.close();
  });

  it('refuses details that carry a level', () => {
    const store = new CounterStore(join(dir, 'counter.db'));
    expect(() => new AuditLog(store.db).append('citizen', 'x', { nested: { level: 5 } })).toThrow(/level/);
    expect(entries(store.db)).toHaveLength(0);
    store.close();
  });

  it('rolls back with the transaction it joined', () => {
    const store = new CounterStore(join(dir, 'counter.db'));
    const audit = new AuditLog(store.db);
    expect(() =>
      store.db.transaction(() => {
        audit.append('system', 'test', {});
        throw new Error('the recorded write failed');
      })(),
    ).toThrow();
    expect(entries(store.db)).toHaveLength(0);
    store.close();
  });
});

describe('counter audit entries', () => {
  it('records open, commit (without the level) and cancel', async () => {
    const c = makeCounter();
    c.openRating('C-1');
    c.submitScreenRating({ level: 1, reason_timed_out: true });
    c.openRating('C-2');
    c.cancelRating();
    // Presence entries (the demo roster's auto sign-in) are tested with the session.
    const rows = entries(c.store.db).filter((r) => !r.action.startsWith('presence.'));
    expect(rows.map((r) => [r.actor, r.action])).toEqual([
      ['staff:090317', 'rating.open'],
      ['citizen', 'rating.committed'],
      ['staff:090317', 'rating.open'],
      ['staff:090317', 'rating.cancel'],
    ]);
    const committed = JSON.parse(rows[1]?.details ?? '{}');
    expect(committed).toMatchObject({ seq: 1, case_ref: 'C-1', source: 'screen' });
    for (const r of rows) expect(r.details).not.toMatch(/level/);
    expect(verifyAuditChain(c.store.db).ok).toBe(true);
    await c.close();
  });

  it('records a rating window that timed out', async () => {
    vi.useFakeTimers();
    try {
      const c = makeCounter();
      c.openRating('C-9');
      vi.advanceTimersByTime(defaultCounterConfig().rating_timeout_s * 1000 + 10);
      expect(c.session.view().state).toBe('idle');
      const last = entries(c.store.db).at(-1);
      expect([last?.actor, last?.action, JSON.parse(last?.details ?? '{}')]).toEqual([
        'system',
        'rating.timed_out',
        { case_ref: 'C-9', seq: 1 },
      ]);
      // …and the window is on record as 未评价 for the hub.
      expect(c.store.unsentBatch(10)).toMatchObject([{ outcome: 'not_rated', level: null, case_ref: 'C-9' }]);
      await c.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('writes the rating and its audit entry in one transaction: a failing audit insert stores no rating', async () => {
    const c = makeCounter();
    c.store.db.exec(`CREATE TRIGGER fail_commit_audit BEFORE INSERT ON audit_log
      WHEN NEW.action = 'rating.committed' BEGIN SELECT RAISE(ABORT, 'audit full'); END;`);
    c.openRating('C-1');
    expect(() => c.submitScreenRating({ level: 4, reason_timed_out: true })).toThrow(/store cannot commit/);
    expect(c.store.queueStats().last_seq).toBe(0);
    // A pad press: EVP/1 status 2 (cannot store), and neither the rating nor the press is kept.
    expect(c.handlePadPress({ bootId: 9, pressId: 1, key: 1, uptimeMs: 1 })).toBe(2);
    expect(c.store.queueStats().last_seq).toBe(0);
    expect(c.store.db.prepare('SELECT COUNT(*) AS n FROM pad_presses').get()).toEqual({ n: 0 });
    c.store.db.exec('DROP TRIGGER fail_commit_audit');
    expect(c.handlePadPress({ bootId: 9, pressId: 1, key: 1, uptimeMs: 1 })).toBe(0);
    const last = entries(c.store.db).at(-1);
    expect(last?.action).toBe('rating.committed');
    expect(JSON.parse(last?.details ?? '{}')).toMatchObject({ seq: 1, pad: { boot_id: 9, press_id: 1 } });
    await c.close();
  });

  it('records pad presses that are not ratings, without the key', async () => {
    const c = makeCounter();
    expect(c.handlePadPress({ bootId: 4, pressId: 1, key: 5, uptimeMs: 1 })).toBe(1);
    c.openRating('C-1');
    expect(c.handlePadPress({ bootId: 4, pressId: 2, key: 1, uptimeMs: 2 })).toBe(0);
    expect(c.handlePadPress({ bootId: 4, pressId: 3, key: 5, uptimeMs: 3 })).toBe(1);
    // A retransmitted press is not a new action.
    expect(c.handlePadPress({ bootId: 4, pressId: 3, key: 5, uptimeMs: 3 })).toBe(1);
    const rows = entries(c.store.db).filter((r) => !r.action.startsWith('presence.'));
    expect(rows.map((r) => r.action)).toEqual([
      'press.not_rating',
      'rating.open',
      'rating.committed',
      'press.not_rating',
    ]);
    expect(JSON.parse(rows[0]?.details ?? '{}')).toEqual({
      pad: { boot_id: 4, press_id: 1 },
      reason: 'no_rating_open',
    });
    expect(JSON.parse(rows[3]?.details ?? '{}').reason).toBe('ignored_repeat');
    for (const r of rows) expect(r.details).not.toMatch(/"key"|level/);
    await c.close();
  });

  it('records pad link changes, not counter updates', async () => {
    const c = makeCounter();
    const pad = {
      link: 'up' as const,
      path: '/dev/ttyUSB0',
      model: 'EVP-5',
      boot_id: 3,
      frames: 0,
      bad_crc: 0,
      resyncs: 0,
      dropped_bytes: 0,
      serial: null,
      retransmits: 0,
      reconnects: 0,
      alarm: null,
    };
    c.setPad(pad);
    c.setPad({ ...pad, frames: 10 });
    c.setPad({ ...pad, link: 'down' });
    const rows = entries(c.store.db).filter((r) => r.action === 'pad.link');
    expect(rows.map((r) => JSON.parse(r.details))).toMatchObject([
      { from: 'none', to: 'up', path: '/dev/ttyUSB0' },
      { from: 'up', to: 'down' },
    ]);
    await c.close();
  });
});

describe('migration 2', () => {
  it('upgrades a version-1 store with data, keeping a backup and the data', async () => {
    const path = join(dir, 'counter.db');
    const old = new Database(path);
    old.exec(MIGRATIONS[0] as string);
    old.pragma('user_version = 1');
    old.prepare("INSERT INTO meta (key, value) VALUES ('device_id', 'ctr-old')").run();
    old.close();
    const store = new CounterStore(path);
    expect(store.report).toMatchObject({ migratedFrom: 1, version: MIGRATIONS.length });
    expect(store.report.backup).toMatch(/counter\.db\.v1\.bak$/);
    expect(store.deviceId).toBe('ctr-old');
    expect(verifyAuditChain(store.db)).toMatchObject({ ok: true, entries: 0 });
    new AuditLog(store.db).append('system', 'test', {});
    expect(verifyAuditChain(store.db)).toMatchObject({ ok: true, entries: 1 });
    store.close();
  });
});
