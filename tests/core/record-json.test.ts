/**
 * The uploader sends each record as JSON built by SQLite (`unsentJson`, RECORD_JSON_SQL), and the
 * hub re-hashes every record from its parsed values: for every row the store can hold, that JSON
 * must read back as exactly the record `rowToRecord` gives, or uploads would fail HASH_MISMATCH.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyHashes } from '../../hub/ingest-rules.ts';
import type { HubIngestItem } from '../../hub/store/types.ts';
import { CounterStore, rowToRecord } from '../../src-main/core/store/counter-store.ts';
import { given, ratingCtx } from './store-fixtures.ts';

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

/** Every stored row of these seqs, as the JS path reads it and as the SQL path writes it. */
function bothPaths(from: number, to: number) {
  const rows = store.db
    .prepare('SELECT * FROM ratings WHERE seq BETWEEN ? AND ? ORDER BY seq')
    .all(from, to) as Parameters<typeof rowToRecord>[0][];
  const json = store.unsentJson(to - from + 1, from - 1);
  return { rows, json };
}

// Well-formed text only: the store replaces lone surrogates before it writes, and SQLite TEXT is UTF-8.
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '',
    ',',
    ',,',
    'a,b',
    '"',
    '\\',
    '\\,',
    '\u0000',
    'a\u0000b',
    '\n\t\r',
    '\u2028',
    '李明',
    '😀,x',
    '\u001f',
  ),
);
const nullable = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });
const mono = fc.oneof(
  fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)),
  fc.nat(),
  fc.constantFrom(0, 5e-324, 0.1 + 0.2, 1e21, 2 ** 53 + 2, 123456.78901234567, Number.MAX_VALUE),
);
const jsonObject = fc
  .dictionary(
    fc.string({ unit: 'binary', maxLength: 8 }),
    fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null)),
    {
      maxKeys: 4,
    },
  )
  .map((o) => JSON.stringify(o));

const row = fc.record({
  rec_version: fc.constantFrom(1, 2),
  outcome: fc.constantFrom('rated', 'not_rated'),
  level: nullable(fc.integer({ min: 1, max: 5 })),
  channel: fc.integer({ min: 0, max: 9 }),
  case_ref: nullable(text),
  item_code: nullable(text),
  item_name: nullable(text),
  case_status: nullable(text),
  accepted_at: nullable(text),
  finished_at: nullable(text),
  assess_number: fc.constantFrom(1, 2),
  reasons: nullable(text),
  reason_status: text,
  reason_dict_version: nullable(text),
  dimensions: nullable(jsonObject),
  free_text: nullable(text),
  rater_type: text,
  anonymous: fc.constantFrom(0, 1),
  rater: nullable(jsonObject),
  signals: nullable(text),
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
  pad_boot_id: nullable(fc.integer({ min: 0, max: 0xffffffff })),
  pad_press_id: nullable(fc.integer({ min: 0, max: 0xffffffff })),
  pad_key: nullable(fc.integer({ min: 1, max: 5 })),
  prev_hash: text,
  hash: text,
});
type Row = typeof row extends fc.Arbitrary<infer T> ? T : never;

describe('upload JSON built by SQLite', () => {
  it('reads back as exactly the record rowToRecord gives, for any stored row', () => {
    let seq = 0;
    const insert = (r: Row) => {
      seq++;
      const values: Record<string, unknown> = { ...r, seq, event_id: `e-${seq}` };
      const cols = Object.keys(values);
      store.db
        .prepare(`INSERT INTO ratings (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`)
        .run(values);
      return seq;
    };
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 5 }), (rows) => {
        const from = seq + 1;
        for (const r of rows) insert(r);
        const both = bothPaths(from, seq);
        expect(both.json).toHaveLength(rows.length);
        both.rows.forEach((r, i) => {
          const sent = both.json[i] as (typeof both.json)[number];
          expect(sent.seq).toBe(r.seq);
          expect(sent.event_id).toBe(r.event_id);
          expect(JSON.parse(sent.json.toString('utf8'))).toStrictEqual(rowToRecord(r, store.deviceId));
        });
      }),
      { numRuns: 300 },
    );
  });

  it("through the real commit path: the same records, and the hub's own hash check accepts them", () => {
    store.commitRating(given(5), ratingCtx());
    store.commitRating(
      {
        level: 1,
        reasons: ['501', '502'],
        reason_status: 'given',
        reason_dict_version: 'dict-1',
        dimensions: { attitude: 1, efficiency: 2 },
        free_text: '等了很久，"没人" \\ 管',
        anonymous: false,
      },
      ratingCtx({
        rater: { name: '阿依古丽', phone: '13800000000' },
        source: 'pad',
        pad: { boot_id: 7, press_id: 3, key: 1 },
      }),
    );
    store.commitRating(
      given(4),
      ratingCtx({ case_ref: null, item_code: null, item_name: null, signals: [] }),
    );
    const both = bothPaths(1, 3);
    const parsed = both.json.map((j) => JSON.parse(j.json.toString('utf8')) as HubIngestItem);
    expect(parsed).toStrictEqual(both.rows.map((r) => rowToRecord(r, store.deviceId)));
    expect(verifyHashes({ device_id: store.deviceId, items: parsed })).toBeNull();
  });

  it('takes the oldest unacked rows after afterSeq, in seq order, at most limit', () => {
    for (let i = 0; i < 6; i++) store.commitRating(given(5), ratingCtx({ case_ref: `C-${i}` }));
    expect(store.unsentJson(4).map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(store.unsentJson(10, 4).map((r) => r.seq)).toEqual([5, 6]);
    store.markAckedThrough(2);
    expect(store.unsentJson(10).map((r) => r.seq)).toEqual([3, 4, 5, 6]);
    expect(store.unsentJson(10, 6)).toEqual([]);
  });
});
