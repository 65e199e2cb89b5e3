import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { EXPORT_COLUMNS, exportRatings } from '../../hub/export.ts';
import type { HubStore } from '../../hub/store/types.ts';
import { ingestItemSchema } from '../../src-shared/index.ts';
import { makeTempDir, openTestStore } from './harness.ts';
import { batchOf, makeStream, seal, verifies } from './records.ts';

let store: HubStore | undefined;
let dir: string | undefined;
afterEach(async () => {
  await store?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  store = undefined;
  dir = undefined;
});

async function storeWith(count: number) {
  dir = await makeTempDir();
  store = await openTestStore(dir);
  const stream = makeStream({ count, ratedAt: (i) => new Date(Date.UTC(2026, 10, 27, 0, i)).toISOString() });
  const outcome = await store.ingest(batchOf(stream, 1, count), new Date('2026-11-27T03:00:00Z'));
  expect(outcome.ok).toBe(true);
  return { store, stream };
}

async function run(s: HubStore, options: Parameters<typeof exportRatings>[1]) {
  const chunks: string[] = [];
  const count = await exportRatings(s, options, (c) => chunks.push(c));
  return { count, text: chunks.join('') };
}

/** Minimal RFC 4180 reader for the test. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  return rows;
}

describe('exportRatings', () => {
  it('writes every rating as JSONL with its identity and pad press, records that still verify', async () => {
    const { store: s, stream } = await storeWith(2500); // more than one page
    const { count, text } = await run(s, { format: 'jsonl' });
    expect(count).toBe(2500);
    const lines = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2500);
    const first = lines[0];
    expect(first).toMatchObject({
      device_id: 'counter-01',
      seq: 1,
      event_id: stream[0]?.event_id,
      pad_boot_id: 7,
      pad_press_id: 1,
      received_at: '2026-11-27T03:00:00.000Z',
    });
    expect(lines[1]).toMatchObject({ seq: 2, pad: null, pad_boot_id: null, pad_press_id: null });
    for (const line of lines) {
      const { received_at: _r, pad_boot_id: _b, pad_press_id: _p, rec_version, ...record } = line;
      expect(rec_version).toBe(2);
      expect(verifies(ingestItemSchema.parse(record))).toBe(true);
    }
  });

  it('writes CSV with a header, quoting, and empty pad columns for screen ratings', async () => {
    dir = await makeTempDir();
    store = await openTestStore(dir);
    const [a, b] = makeStream({ count: 2 });
    if (!a || !b) throw new Error('stream');
    const { hash: _h, ...body } = a;
    const odd = seal({ ...body, staff_name: '王, "五"\n二' });
    const { hash: _h2, ...body2 } = b;
    const next = seal({ ...body2, prev_hash: odd.hash });
    await store.ingest({ device_id: 'counter-01', items: [odd, next] }, new Date());

    const { count, text } = await run(store, { format: 'csv' });
    expect(count).toBe(2);
    const rows = parseCsv(text);
    expect(rows[0]).toEqual([...EXPORT_COLUMNS]);
    const col = (name: (typeof EXPORT_COLUMNS)[number]) => EXPORT_COLUMNS.indexOf(name);
    expect(rows).toHaveLength(3);
    expect(rows[1]?.[col('staff_name')]).toBe('王, "五"\n二');
    expect(rows[1]?.slice(0, 7)).toEqual(['counter-01', '1', odd.event_id, '7', '1', '1', '2']);
    expect(rows[2]?.slice(0, 7)).toEqual(['counter-01', '2', next.event_id, '', '', '', '2']);
    expect(rows[1]?.[col('case_ref')]).toBe('');
    expect(rows[2]?.[col('hash')]).toBe(next.hash);
  });

  it('exports only ratings rated at or after --since', async () => {
    const { store: s } = await storeWith(10);
    const { count, text } = await run(s, { format: 'jsonl', since: '2026-11-27T08:05:00+08:00' });
    expect(count).toBe(5);
    expect(
      text
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).seq),
    ).toEqual([6, 7, 8, 9, 10]);
    const empty = await run(s, { format: 'csv', since: '2030-01-01T00:00:00Z' });
    expect(empty).toEqual({ count: 0, text: `${EXPORT_COLUMNS.join(',')}\n` });
  });

  it('writes the national fields to CSV (arrays joined with |, dimensions as JSON) and leaves them empty for legacy rows', async () => {
    dir = await makeTempDir();
    store = await openTestStore(dir);
    const base = makeStream({
      count: 4,
      legacy: (i) => i === 0,
      level: (i) => ([5, 2, 5, 5] as const)[i] ?? 5,
      outcome: (i) => (i === 3 ? 'not_rated' : 'rated'),
      signals: (i) => (i === 1 ? ['burst', 'off_hours'] : []),
    });
    // Citizen text that a spreadsheet would run as a formula.
    const [a, b, c, d] = base;
    if (!a || !b || !c || !d || !('outcome' in b)) throw new Error('stream');
    const { hash: _h, ...bBody } = b;
    const bad = seal({ ...bBody, reasons: ['201', '203'], free_text: '=HYPERLINK("http://x")' });
    const { hash: _h2, ...cBody } = c;
    const next = seal({ ...cBody, prev_hash: bad.hash });
    const { hash: _h3, ...dBody } = d;
    const last = seal({ ...dBody, prev_hash: next.hash });
    expect(
      (await store.ingest({ device_id: 'counter-01', items: [a, bad, next, last] }, new Date())).ok,
    ).toBe(true);

    const rows = parseCsv((await run(store, { format: 'csv' })).text);
    const col = (row: number, name: (typeof EXPORT_COLUMNS)[number]) =>
      rows[row]?.[EXPORT_COLUMNS.indexOf(name)];
    expect(rows).toHaveLength(5);
    // Legacy: rec_version 1, rated, the national columns empty.
    expect([col(1, 'rec_version'), col(1, 'outcome'), col(1, 'level')]).toEqual(['1', 'rated', '5']);
    for (const name of [
      'item_code',
      'reasons',
      'reason_status',
      'dimensions',
      'anonymous',
      'signals',
      'config_version',
    ] as const)
      expect(col(1, name)).toBe('');
    // A 差评 with two reasons, two signals, a contact.
    expect([col(2, 'rec_version'), col(2, 'outcome'), col(2, 'level')]).toEqual(['2', 'rated', '2']);
    expect(col(2, 'reasons')).toBe('201|203');
    expect(col(2, 'reason_status')).toBe('given');
    expect(col(2, 'signals')).toBe('burst|off_hours');
    expect([col(2, 'anonymous'), col(2, 'rater_name'), col(2, 'rater_phone')]).toEqual([
      'false',
      '李四',
      '13800000000',
    ]);
    expect(col(2, 'free_text')).toBe(`'=HYPERLINK("http://x")`);
    expect(col(2, 'item_name')).toBe('个体工商户设立登记');
    // Dimensions as JSON.
    expect(JSON.parse(col(3, 'dimensions') ?? '')).toEqual({ attitude: 5, efficiency: 5 });
    // 未评价: no level, source timeout, anonymous without contact.
    expect([
      col(4, 'outcome'),
      col(4, 'level'),
      col(4, 'source'),
      col(4, 'anonymous'),
      col(4, 'rater_name'),
    ]).toEqual(['not_rated', '', 'timeout', 'true', '']);

    // JSONL keeps every value as stored, each record in its own shape.
    const lines = (await run(store, { format: 'jsonl' })).text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.rec_version)).toEqual([1, 2, 2, 2]);
    expect(lines[1].free_text).toBe('=HYPERLINK("http://x")');
    for (const { received_at: _r, pad_boot_id: _b, pad_press_id: _p, rec_version: _v, ...record } of lines)
      expect(verifies(record)).toBe(true);
  });
});
