/**
 * The uploader sends each record as JSON built by SQLite (`unsentJson`, RECORD_JSON_SQL), and the
 * hub re-hashes every record from its parsed values: for every row the store can hold, that JSON
 * must read back as exactly the record `rowToRecord` gives, or uploads would fail HASH_MISMATCH.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readIngestBatch, verifyHashes } from '../../hub/ingest-rules.ts';
import type { HubIngestItem } from '../../hub/store/types.ts';
import { CounterStore, notRatedGiven, rowToRecord } from '../../src-main/core/store/counter-store.ts';
import { cutBatch } from '../../src-main/core/sync.ts';
import { canonicalJson, chainInput, GENESIS_HASH, type LegacyRatingRecord } from '../../src-shared/index.ts';
import { given, ratingCtx } from './store-fixtures.ts';

type StoredRow = Parameters<typeof rowToRecord>[0];

let dir: string;
let store: CounterStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-record-json-'));
  store = new CounterStore(join(dir, 'counter.sqlite'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const selectRow = () => store.db.prepare('SELECT * FROM ratings WHERE seq = ?');

/**
 * Every unacked row after `afterSeq` (at most `limit`): the SQL path's JSON, parsed, must be the JS
 * path's record (rowToRecord of the row as stored, and unsentBatch), and carry the row's seq and id.
 */
function expectSamePaths(limit: number, afterSeq = 0): HubIngestItem[] {
  const sent = store.unsentJson(limit, afterSeq);
  const batch = store.unsentBatch(limit, afterSeq);
  expect(sent.map((s) => s.seq)).toStrictEqual(batch.map((r) => r.seq));
  const byRow = selectRow();
  const parsed = sent.map((s) => {
    const row = byRow.get(s.seq) as StoredRow;
    expect(s.seq).toBe(row.seq);
    expect(s.event_id).toBe(row.event_id);
    expect(Buffer.isBuffer(s.json)).toBe(true);
    const item = JSON.parse(s.json.toString('utf8')) as HubIngestItem;
    expect(item).toStrictEqual(rowToRecord(row, store.deviceId));
    return item;
  });
  expect(parsed).toStrictEqual(batch);
  return parsed;
}

// Well-formed text only: the store replaces lone surrogates before it writes, and SQLite TEXT is UTF-8.
const oddText = fc.constantFrom(
  '',
  ' ',
  ',',
  ',,',
  'a,b',
  ',a',
  'a,',
  'a,,b',
  '"',
  '","',
  '\\',
  '\\,',
  '\\"',
  '\\u0000',
  '\u0000',
  'a\u0000b',
  '\u0000,\u0000',
  '\n\t\r\b\f',
  '\u0001\u001f\u007f',
  '\u0085\u00a0',
  '\u2028\u2029',
  '\ufeff',
  '\ufffd',
  '\uffff',
  '李明',
  '营业执照办理,差评',
  '😀',
  '😀,x',
  '👨‍👩‍👧',
  '𠀀𯿽',
  '</script>',
  '[1,2]',
  '{"a":1}',
  'null',
  'true',
  '1e21',
);
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary-ascii', maxLength: 20 }),
  oddText,
  fc.array(oddText, { maxLength: 4 }).map((parts) => parts.join('')),
);
const nullable = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });

/** Comma-joined lists as the store keeps reasons and signals, and any text the column could hold. */
const joined = fc.oneof(
  text,
  fc.array(fc.oneof(text, fc.constant('')), { maxLength: 5 }).map((xs) => xs.join(',')),
  fc.constantFrom('', ',', ',,', ',,,', ',501', '501,', '501,,502', 'no_case,burst', '\u0000,', ',😀,'),
);

/** Any non-negative double (never -0: JSON cannot carry it and the store never writes it). */
const mono = fc.oneof(
  fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)),
  fc.nat(),
  fc.maxSafeNat(),
  fc.integer({ min: 0, max: 2 ** 40 }).map((n) => n / 1000), // monoMs(): three decimals
  fc.double({ min: 0, max: 1e-300, noNaN: true }).filter((x) => !Object.is(x, -0)),
  fc.double({ min: 1e15, max: Number.MAX_VALUE, noNaN: true }),
  fc.constantFrom(
    0,
    5e-324,
    2.225073858507201e-308,
    2.2250738585072014e-308,
    1e-7,
    0.1,
    0.1 + 0.2,
    1 / 3,
    4.35,
    123456.78901234567,
    2 ** 53 - 1,
    2 ** 53 + 2,
    1e16,
    1e21,
    1e22,
    1e23,
    Number.MAX_VALUE,
  ),
);

/** Any JSON value, odd strings and doubles included, as JSON.stringify or canonicalJson writes it. */
const jsonValue = fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' });
const json = fc.oneof(
  jsonValue.map((v) => JSON.stringify(v)),
  jsonValue.map((v) => canonicalJson(v)),
  jsonValue.map((v) => JSON.stringify(v, null, 2)),
  fc
    .dictionary(text, fc.oneof(text, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean()), {
      maxKeys: 4,
    })
    .map((o) => canonicalJson(o)),
  // What the store writes: canonical dimensions and rater contacts.
  fc
    .record(
      {
        promise: fc.integer({ min: 1, max: 5 }),
        attitude: fc.integer({ min: 1, max: 5 }),
        quality: fc.integer({ min: 1, max: 5 }),
        materials: fc.integer({ min: 1, max: 5 }),
        efficiency: fc.integer({ min: 1, max: 5 }),
        integrity: fc.integer({ min: 1, max: 5 }),
      },
      { requiredKeys: [] },
    )
    .map((d) => canonicalJson(d)),
  fc.record({ name: nullable(text), phone: nullable(text) }).map((r) => canonicalJson(r)),
  // Valid JSON no JS serializer writes, that JSON.parse reads: SQLite's json() must keep its values.
  fc.constantFrom(
    '{}',
    '[]',
    'null',
    '"s"',
    '0',
    '{"a":-0}',
    '[-0.0]',
    '{"a":1.0}',
    '[0.1e1,1E+2,1e-7,1E-400]',
    '{"a":1e400}',
    '{"a":123456789012345678901234567890}',
    '9007199254740993',
    '{"a":1,"a":2}',
    '{"__proto__":{"x":1}}',
    '{"s":"\\/\\u0000\\u00e9\\ud83d\\ude00\\ud800\\n"}',
    ' { "a" : [ 1 , 2 ] ,\n\t"b" : { } } ',
    '{"":"","\\u0000":"\\"\\\\"}',
  ),
);

const integer = fc.oneof(fc.integer({ min: 0, max: 9 }), fc.maxSafeInteger());
const u32 = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.maxSafeNat());

const row = fc.record({
  event_id: text,
  rec_version: fc.constantFrom(1, 2),
  outcome: fc.constantFrom('rated', 'not_rated'),
  level: nullable(fc.integer({ min: 1, max: 5 })),
  channel: fc.oneof(fc.constantFrom(4, 5), integer),
  case_ref: nullable(text),
  item_code: nullable(text),
  item_name: nullable(text),
  case_status: nullable(text),
  accepted_at: nullable(text),
  finished_at: nullable(text),
  assess_number: fc.oneof(fc.constantFrom(1, 2), integer),
  reasons: nullable(joined),
  reason_status: text,
  reason_dict_version: nullable(text),
  dimensions: nullable(json),
  free_text: nullable(text),
  rater_type: text,
  anonymous: fc.constantFrom(0, 1),
  rater: nullable(json),
  signals: nullable(joined),
  staff_no: text,
  staff_name: text,
  window_id: text,
  hall_id: text,
  dept_id: nullable(text),
  config_version: nullable(text),
  opened_at: text,
  rated_at: text,
  mono_ms: mono,
  app_boot_id: text,
  source: fc.constantFrom('pad', 'screen', 'wedge', 'timeout'),
  pad_boot_id: nullable(u32),
  pad_press_id: nullable(u32),
  pad_key: nullable(u32),
  prev_hash: text,
  hash: text,
});

/** Unique positive seqs (gaps allowed, up to 2^53 - 1), as many as rows. */
const rows = fc.uniqueArray(row, { minLength: 1, maxLength: 6, selector: (r) => r.event_id }).chain((rs) =>
  fc
    .uniqueArray(
      fc.oneof(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
      {
        minLength: rs.length,
        maxLength: rs.length,
      },
    )
    .map((seqs) => rs.map((r, i) => ({ ...r, seq: seqs[i] as number }))),
);

describe('upload JSON built by SQLite', () => {
  it('reads back as exactly the record rowToRecord gives, for any stored row', () => {
    fc.assert(
      fc.property(rows, (rs) => {
        store.db.exec('DELETE FROM ratings');
        const insert = store.db.prepare(
          `INSERT INTO ratings (${Object.keys(rs[0] as object).join(', ')})
           VALUES (${Object.keys(rs[0] as object)
             .map((c) => `@${c}`)
             .join(', ')})`,
        );
        for (const r of rs) insert.run(r);
        const parsed = expectSamePaths(rs.length);
        expect(parsed.map((p) => p.seq)).toStrictEqual(rs.map((r) => r.seq).sort((a, b) => a - b));
      }),
      { numRuns: 200 },
    );
  });

  it("through the real commit path: the same records, and the hub's own read and hash check accept them", () => {
    // A legacy row first (written before the national fields: rec_version 1, hashed in its own shape).
    const legacy: Omit<LegacyRatingRecord, 'hash'> = {
      event_id: uuidv7(),
      device_id: store.deviceId,
      seq: 1,
      level: 4,
      channel: 5,
      case_ref: 'C-2025-0099',
      staff_no: '090317',
      staff_name: '李明',
      window_id: 'W03',
      hall_id: 'DIV9-MAIN',
      opened_at: '2025-06-01T01:00:00.000Z',
      rated_at: '2025-06-01T01:00:09.123Z',
      mono_ms: 1234.567,
      app_boot_id: uuidv7(),
      source: 'pad',
      pad: { boot_id: 4294967295, press_id: 1, key: 2 },
      prev_hash: GENESIS_HASH,
    };
    const legacyHash = createHash('sha256')
      .update(chainInput(legacy as never))
      .digest('hex');
    store.db
      .prepare(
        `INSERT INTO ratings (seq, event_id, rec_version, level, channel, case_ref, staff_no, staff_name,
           window_id, hall_id, opened_at, rated_at, mono_ms, app_boot_id, source, pad_boot_id, pad_press_id,
           pad_key, prev_hash, hash)
         VALUES (@seq, @event_id, 1, @level, @channel, @case_ref, @staff_no, @staff_name, @window_id, @hall_id,
           @opened_at, @rated_at, @mono_ms, @app_boot_id, @source, @boot_id, @press_id, @key, @prev_hash, @hash)`,
      )
      .run({ ...legacy, ...legacy.pad, pad: undefined, hash: legacyHash });

    store.commitRating(given(5), ratingCtx());
    store.commitRating(
      {
        level: 1,
        reasons: ['501', '502'],
        reason_status: 'given',
        reason_dict_version: 'dict-1',
        dimensions: { attitude: 1, efficiency: 2, integrity: 5 },
        // A lone surrogate: the store writes U+FFFD and hashes that.
        free_text: '等了很久，"没人" \\ 管, 😀 \u0000 \u2028 \ud800 end',
        anonymous: false,
      },
      ratingCtx({
        rater: { name: '阿依古丽·"木"\\', phone: '13800000000' },
        source: 'pad',
        pad: { boot_id: 7, press_id: 3, key: 1 },
        signals: ['no_case', 'burst', 'after_staff_action', 'off_hours'],
        finished_at: '2026-11-26T02:10:00.000Z',
        rater_type: 'company',
      }),
    );
    store.commitRating(
      given(2),
      ratingCtx({ case_ref: null, item_code: null, item_name: null, dept_id: null, signals: ['off_hours'] }),
    );
    store.commitRating(
      { ...given(3), anonymous: true, dimensions: {} },
      ratingCtx({ rater: { name: null, phone: '110' }, channel: 5, source: 'wedge' }),
    );
    store.commitRating(
      notRatedGiven(),
      ratingCtx({ source: 'timeout', item_name: '营业执照,变更\t登记', case_status: '办结' }),
    );

    const parsed = expectSamePaths(100);
    expect(parsed).toHaveLength(6);
    expect((parsed[2] as { free_text: string }).free_text).toContain('\ufffd end');
    expect(verifyHashes({ device_id: store.deviceId, items: parsed })).toBeNull();

    // The body as the uploader cuts it (the items' bytes joined), as the hub reads it.
    const sent = store.unsentJson(100);
    const cut = cutBatch(
      store.deviceId,
      sent.map((s) => s.json),
      { maxBytes: 1 << 20, maxItems: 500, maxRawBytes: 1 << 22 },
    );
    expect(cut.count).toBe(6);
    const read = readIngestBatch(JSON.parse(gunzipSync(cut.body).toString('utf8')), false);
    if (!read.ok) throw new Error(read.error.message);
    expect(read.batch.items).toStrictEqual(parsed);
    expect(verifyHashes(read.batch)).toBeNull();
  });

  it('carries the device id however it is spelled', () => {
    const odd = 'ctr-"\\😀\u0000李,\u2028';
    store.db.prepare("UPDATE meta SET value = ? WHERE key = 'device_id'").run(odd);
    store.close();
    store = new CounterStore(join(dir, 'counter.sqlite'));
    expect(store.deviceId).toBe(odd);
    store.commitRating(given(4), ratingCtx());
    const parsed = expectSamePaths(10);
    expect(parsed[0]?.device_id).toBe(odd);
    expect(verifyHashes({ device_id: odd, items: parsed })).toBeNull();
  });

  it('takes the oldest unacked rows after afterSeq, in seq order, at most limit', () => {
    for (let i = 0; i < 6; i++) store.commitRating(given(5), ratingCtx({ case_ref: `C-${i}` }));
    const seqs = (limit: number, after?: number) => store.unsentJson(limit, after).map((r) => r.seq);
    expect(seqs(4)).toStrictEqual([1, 2, 3, 4]);
    expect(seqs(4, 0)).toStrictEqual([1, 2, 3, 4]);
    expect(seqs(2, 1)).toStrictEqual([2, 3]);
    expect(seqs(10, 4)).toStrictEqual([5, 6]);
    expect(seqs(0)).toStrictEqual([]);
    expect(seqs(10, 6)).toStrictEqual([]);
    expectSamePaths(3, 2);

    expect(store.markAckedThrough(2)).toBe(2);
    expect(seqs(10)).toStrictEqual([3, 4, 5, 6]);
    expect(seqs(2)).toStrictEqual([3, 4]);
    expect(seqs(10, 1)).toStrictEqual([3, 4, 5, 6]);
    expect(seqs(10, 4)).toStrictEqual([5, 6]);
    const rest = store.unsentJson(10);
    expect(rest.map((r) => r.event_id)).toStrictEqual(store.unsentBatch(10).map((r) => r.event_id));
    expect(
      rest.map((r) => (JSON.parse(r.json.toString('utf8')) as { case_ref: string }).case_ref),
    ).toStrictEqual(['C-2', 'C-3', 'C-4', 'C-5']);
    expectSamePaths(10);

    store.markAckedThrough(6);
    expect(seqs(10)).toStrictEqual([]);
    expect(store.unsentJson(10, 0)).toStrictEqual([]);
  });
});
