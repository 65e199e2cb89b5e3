import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, verifyAuditChain } from '../../src-main/core/audit/audit-log.ts';
import { CounterStore, rowToRecord } from '../../src-main/core/store/counter-store.ts';
import { MIGRATIONS } from '../../src-main/core/store/migrations.ts';
import type { Db } from '../../src-main/core/store/open.ts';
import {
  chainInput,
  GENESIS_HASH,
  type LegacyRatingRecord,
  type RatingBody,
} from '../../src-shared/index.ts';
import { given, ratingCtx, verifyRatingChain } from './store-fixtures.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-migrations-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const DEVICE = 'ctr-0192f0aa-0000-7000-8000-000000000001';
const sha256Hex = (t: string) => createHash('sha256').update(t).digest('hex');

/** A store as an app at schema `k` left it: only the first k migrations, WAL, with `user_version = k`. */
function buildAtVersion(path: string, k: number): Db {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  for (let v = 0; v < k; v++) {
    db.exec(MIGRATIONS[v] as string);
    db.pragma(`user_version = ${v + 1}`);
  }
  return db;
}

interface Seeded {
  ratings: LegacyRatingRecord[];
  presses: number;
  audit: number;
}

/**
 * Representative rows of a schema 1/2 store: ratings hashed as that app hashed them (the legacy
 * shape), pad presses pointing at ratings and one that is not a rating, the first three acked;
 * at schema 2 also audit entries (through AuditLog, as that app wrote them), a case and a call.
 */
function seed(db: Db, k: number): Seeded {
  db.prepare("INSERT INTO meta (key, value) VALUES ('device_id', ?)").run(DEVICE);
  const ratings: LegacyRatingRecord[] = [];
  let prev = GENESIS_HASH;
  const insert = db.prepare(
    `INSERT INTO ratings (seq, event_id, level, channel, case_ref, staff_no, staff_name, window_id, hall_id,
       opened_at, rated_at, mono_ms, app_boot_id, source, pad_boot_id, pad_press_id, pad_key, prev_hash, hash, acked_at)
     VALUES (@seq, @event_id, @level, @channel, @case_ref, @staff_no, @staff_name, @window_id, @hall_id,
       @opened_at, @rated_at, @mono_ms, @app_boot_id, @source, @pad_boot_id, @pad_press_id, @pad_key, @prev_hash, @hash, @acked_at)`,
  );
  const press = db.prepare(
    `INSERT INTO pad_presses (pad_boot_id, press_id, key, outcome, reason, rating_seq, received_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const boot = uuidv7();
  for (let seq = 1; seq <= 6; seq++) {
    const fromPad = seq % 2 === 1;
    const key = ((seq % 5) + 1) as 1 | 2 | 3 | 4 | 5;
    const body: Omit<LegacyRatingRecord, 'hash'> = {
      event_id: uuidv7(),
      device_id: DEVICE,
      seq,
      level: (6 - key) as 1 | 2 | 3 | 4 | 5,
      channel: 4,
      case_ref: seq === 2 ? null : `C-OLD-${seq}`,
      staff_no: '090317',
      staff_name: '李明',
      window_id: 'W03',
      hall_id: 'DIV9-MAIN',
      opened_at: `2026-09-0${seq}T02:00:00.000Z`,
      rated_at: `2026-09-0${seq}T02:00:05.000Z`,
      mono_ms: 1000.5 * seq,
      app_boot_id: boot,
      source: fromPad ? 'pad' : 'screen',
      pad: fromPad ? { boot_id: 41, press_id: seq, key } : null,
      prev_hash: prev,
    };
    const rec: LegacyRatingRecord = { ...body, hash: sha256Hex(chainInput(body as unknown as RatingBody)) };
    insert.run({
      ...rec,
      pad: undefined,
      pad_boot_id: rec.pad?.boot_id ?? null,
      pad_press_id: rec.pad?.press_id ?? null,
      pad_key: rec.pad?.key ?? null,
      acked_at: seq <= 3 ? '2026-09-10T00:00:00.000Z' : null,
    });
    if (rec.pad) press.run(41, seq, key, 0, 'rating', seq, rec.rated_at);
    ratings.push(rec);
    prev = rec.hash;
  }
  press.run(41, 100, 3, 1, 'no_rating_open', null, '2026-09-07T00:00:00.000Z');
  let audit = 0;
  if (k >= 2) {
    const log = new AuditLog(db, () => new Date('2026-09-08T00:00:00.000Z'));
    log.append('staff:090317', 'rating.open', { case_ref: 'C-OLD-9' });
    log.append('citizen', 'rating.committed', { seq: 6 });
    log.append('api:banjian', 'case.opened', { case_no: 'C-OLD-9' });
    audit = 3;
    db.prepare(
      `INSERT INTO api_cases (case_no, item_code, item_name, applicant_type, anonymous_allowed, caller, opened_at)
       VALUES ('C-OLD-9', 'T-9', '户籍迁移', 'person', 1, '{"name":"banjian"}', '2026-09-08T00:00:00.000Z')`,
    ).run();
    db.prepare(
      "INSERT INTO queue_calls (ticket, service_name, caller, called_at) VALUES ('A012', '户籍', '{}', '2026-09-08T00:00:00.000Z')",
    ).run();
  }
  return { ratings, presses: 4, audit };
}

function count(db: Db, table: string): number {
  return (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
}

describe('migration matrix: every earlier schema with data opens on the current code', () => {
  it('schema 0, an empty (zero-byte) file: created fresh, no backup needed', () => {
    const path = join(dir, 'counter.db');
    writeFileSync(path, '');
    const store = new CounterStore(path);
    expect(store.report).toMatchObject({
      migratedFrom: 0,
      version: MIGRATIONS.length,
      integrity: 'ok',
      backup: null,
    });
    expect(store.view()).toMatchObject({ health: 'ok', integrity: 'ok', schema_version: MIGRATIONS.length });
    expect(store.commitRating(given(5), ratingCtx()).seq).toBe(1);
    store.close();
  });

  for (const k of [1, 2]) {
    it(`schema ${k}: data kept, old ratings rec_version 1 and re-verifying, foreign keys ok, backup made`, () => {
      const path = join(dir, 'counter.db');
      const old = buildAtVersion(path, k);
      const seeded = seed(old, k);
      old.close();
      const before = readFileSync(path);

      const store = new CounterStore(path);
      expect(store.report).toMatchObject({ migratedFrom: k, version: MIGRATIONS.length, integrity: 'ok' });
      expect(store.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      expect(store.deviceId).toBe(DEVICE);

      // Every old rating, as stored, with rec_version 1, and the very record (and hash) the old app made.
      const rows = store.db.prepare('SELECT * FROM ratings ORDER BY seq').all() as { rec_version: number }[];
      expect(rows.map((r) => r.rec_version)).toEqual(seeded.ratings.map(() => 1));
      expect(rows.map((r) => rowToRecord(r as never, store.deviceId))).toEqual(seeded.ratings);
      expect(verifyRatingChain(store.db, (r) => rowToRecord(r, store.deviceId))).toMatchObject({
        ok: true,
        rows: 6,
      });
      expect(store.queueStats()).toMatchObject({ queue_depth: 3, last_acked_seq: 3, last_seq: 6 });
      expect(store.unsentBatch(10).map((r) => r.seq)).toEqual([4, 5, 6]);

      // Presses still point at their ratings; foreign keys and the whole file check out.
      expect(count(store.db, 'pad_presses')).toBe(seeded.presses);
      expect(store.db.prepare('SELECT rating_seq FROM pad_presses ORDER BY press_id').all()).toEqual([
        { rating_seq: 1 },
        { rating_seq: 3 },
        { rating_seq: 5 },
        { rating_seq: null },
      ]);
      expect(store.db.pragma('foreign_key_check')).toEqual([]);
      expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(verifyAuditChain(store.db)).toMatchObject({ ok: true, entries: seeded.audit });
      if (k >= 2) {
        expect(count(store.db, 'api_cases')).toBe(1);
        expect(count(store.db, 'queue_calls')).toBe(1);
      }

      // A repeat of an old press keeps its first outcome; the chain continues from the old head.
      expect(
        store.commitPress({ bootId: 41, pressId: 3, key: 4 }, () => ({ rate: false, reason: 'x' })),
      ).toMatchObject({
        outcome: 0,
        repeat: true,
      });
      const next = store.commitRating(given(4), ratingCtx());
      expect(next.seq).toBe(7);
      expect(next.prev_hash).toBe(seeded.ratings[5]?.hash);
      expect(verifyRatingChain(store.db, (r) => rowToRecord(r, store.deviceId))).toMatchObject({
        ok: true,
        rows: 7,
      });
      store.close();

      // The backup is the file as it was before migrating, still at schema k, with its data.
      expect(store.report.backup).toBe(`${path}.v${k}.bak`);
      const backup = new Database(store.report.backup as string, { readonly: true });
      expect(backup.pragma('user_version', { simple: true })).toBe(k);
      expect(count(backup, 'ratings')).toBe(6);
      backup.close();
      expect(statSync(store.report.backup as string).size).toBeGreaterThanOrEqual(before.length);
    });
  }

  it('the current schema reopens without migrating or backing up', () => {
    const path = join(dir, 'counter.db');
    new CounterStore(path).close();
    const store = new CounterStore(path);
    expect(store.report).toMatchObject({ migratedFrom: MIGRATIONS.length, backup: null });
    store.close();
    expect(readdirSync(dir).filter((f) => f.includes('.bak'))).toEqual([]);
  });
});

/** A store with data, closed cleanly (WAL checkpointed into the file). */
function storeWithData(path: string): void {
  const store = new CounterStore(path);
  store.transact(() => {
    for (let i = 0; i < 300; i++)
      store.commitRating(given(5), ratingCtx({ case_ref: `C-${i}`, item_name: '营业执照办理'.repeat(10) }));
  });
  store.close();
}

function expectRecovered(path: string, damaged: Buffer): void {
  const store = new CounterStore(path);
  expect(store.view()).toMatchObject({ health: 'ok', integrity: 'recovered' });
  const copy = store.view().damaged_copy as string;
  expect(copy).toMatch(/counter\.db\.damaged-/);
  // Nothing deleted: the damaged bytes are kept aside exactly as found.
  expect(readFileSync(copy).equals(damaged)).toBe(true);
  expect(store.report.migratedFrom).toBe(0);
  expect(store.commitRating(given(5), ratingCtx()).seq).toBe(1);
  store.close();
}

describe('a damaged store is kept aside and a fresh one opened', () => {
  it('garbage bytes', () => {
    const path = join(dir, 'counter.db');
    const garbage = Buffer.alloc(3 * 4096);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) & 0xff;
    writeFileSync(path, garbage);
    expectRecovered(path, garbage);
  });

  it('a truncated file', () => {
    const path = join(dir, 'counter.db');
    storeWithData(path);
    truncateSync(path, Math.floor(statSync(path).size / 2));
    expectRecovered(path, readFileSync(path));
  });

  it('a valid header over corrupted pages', () => {
    const path = join(dir, 'counter.db');
    storeWithData(path);
    const pageSize = readFileSync(path).readUInt16BE(16);
    const size = statSync(path).size;
    const fd = openSync(path, 'r+');
    // Page 1 (header and schema) intact; every other page from the 3rd on overwritten with noise.
    const noise = Buffer.alloc(pageSize);
    for (let p = 2; p * pageSize < size; p += 2) {
      for (let i = 0; i < pageSize; i++) noise[i] = (i * 31 + p * 17) & 0xff;
      writeSync(fd, noise, 0, pageSize, p * pageSize);
    }
    closeSync(fd);
    const damaged = readFileSync(path);
    expect(damaged.subarray(0, 16).toString('latin1')).toBe('SQLite format 3\u0000');
    expectRecovered(path, damaged);
  });
});

describe('a store from a newer app', () => {
  it('is refused with a clear error and left untouched', () => {
    const path = join(dir, 'counter.db');
    const db = buildAtVersion(path, MIGRATIONS.length);
    db.prepare("INSERT INTO meta (key, value) VALUES ('device_id', ?)").run(DEVICE);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    const bytes = readFileSync(path);
    const names = readdirSync(dir).sort();
    expect(() => new CounterStore(path)).toThrow(
      new RegExp(
        `schema ${MIGRATIONS.length + 1}, newer than this app \\(${MIGRATIONS.length}\\): update the app`,
      ),
    );
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(names);
    expect(existsSync(`${path}.v${MIGRATIONS.length + 1}.bak`)).toBe(false);
  });
});
