import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AnyRatingRecord } from '../../src-shared/index.ts';
import { asError, asReply, asStats, openTestHub, type TestHub } from './harness.ts';
import { batchOf, makeStream, seal, verifies } from './records.ts';

/** Records with the national fields (current) after records written before the upgrade (legacy). */

const DAY = '2026-11-27';

let t: TestHub;
beforeEach(async () => {
  t = await openTestHub();
});
afterEach(async () => {
  await t.cleanup();
});

async function stored(): Promise<AnyRatingRecord[]> {
  const page = await t.hub.store.listRatings({ limit: 10_000 });
  return page.ratings.map(({ received_at: _r, ...record }) => record);
}

describe('a device stream from legacy records on to current ones', () => {
  const stream = makeStream({ count: 12, legacy: (i) => i < 6 });

  it('accepts the chain across the upgrade, in one batch or split at any point', async () => {
    expect('outcome' in (stream[5] ?? {})).toBe(false);
    expect('outcome' in (stream[6] ?? {})).toBe(true);
    expect(stream[6]?.prev_hash).toBe(stream[5]?.hash);

    expect(asReply(await t.post(batchOf(stream, 1, 4))).ack_through_seq).toBe(4);
    // One batch holding the last legacy records and the first current ones.
    const reply = asReply(await t.post(batchOf(stream, 3, 9)));
    expect(reply.items.map((i) => i.status)).toEqual([
      'duplicate',
      'duplicate',
      'stored',
      'stored',
      'stored',
      'stored',
      'stored',
    ]);
    expect(asReply(await t.post(batchOf(stream, 10, 12))).ack_through_seq).toBe(12);
    // A re-send across the boundary is recognised too.
    expect(asReply(await t.post(batchOf(stream, 5, 8))).items.every((i) => i.status === 'duplicate')).toBe(
      true,
    );

    const back = await stored();
    expect(back).toEqual(stream);
    expect(back.every(verifies)).toBe(true);
    expect(asStats(await t.get(`/api/v1/stats?from=${DAY}&to=${DAY}`)).totals.total).toBe(12);
  });

  it('still rejects a current record whose prev_hash skips the last legacy one', async () => {
    await t.post(batchOf(stream, 1, 6));
    const seventh = stream[6] ?? expect.unreachable();
    const { hash: _h, ...body } = seventh;
    const relinked = seal({ ...body, prev_hash: stream[4]?.hash ?? '' });
    const res = await t.post({ device_id: 'counter-01', items: [relinked] });
    expect(res.status).toBe(409);
    expect(asError(res)).toMatchObject({ code: 'CHAIN_MISMATCH', cursor: 6 });
  });
});

describe('未评价 (not_rated) records', () => {
  it('are stored, given back as sent, and counted apart from the levels', async () => {
    const stream = makeStream({
      count: 8,
      outcome: (i) => (i % 4 === 3 ? 'not_rated' : 'rated'),
      level: () => 5,
    });
    const notRated = stream.filter((r) => 'outcome' in r && r.outcome === 'not_rated');
    expect(notRated).toHaveLength(2);
    expect(notRated.every((r) => r.level === null && r.source === 'timeout')).toBe(true);

    expect(asReply(await t.post(batchOf(stream, 1, 8))).ack_through_seq).toBe(8);
    expect(await stored()).toEqual(stream);
    const stats = asStats(await t.get(`/api/v1/stats?from=${DAY}&to=${DAY}`));
    expect(stats.totals).toMatchObject({
      counts: { '5': 6, '4': 0, '3': 0, '2': 0, '1': 0 },
      total: 6,
      not_rated: 2,
      good_rate: 1,
      not_rated_rate: 2 / 8,
    });
  });
});

describe('malformed current records: 400 naming the field, nothing stored', () => {
  const stream = makeStream({ count: 4 });
  type Item = Record<string, unknown>;
  const edited = (i: number, edit: (item: Item) => void) => {
    const batch = structuredClone(batchOf(stream, 1, 4)) as unknown as { items: Item[] };
    const item = batch.items[i] ?? expect.unreachable();
    edit(item);
    // Resealed, so only the schema can object.
    batch.items[i] = seal(item as unknown as Omit<AnyRatingRecord, 'hash'>) as unknown as Item;
    return JSON.stringify(batch);
  };

  const cases: [name: string, body: string, messagePart: string][] = [
    ['rated with level null', edited(2, (r) => Object.assign(r, { level: null })), 'items.2.level: must be'],
    [
      'not_rated with a level',
      edited(1, (r) => Object.assign(r, { outcome: 'not_rated', source: 'timeout', pad: null })),
      'items.1.level',
    ],
    [
      'not_rated from the pad',
      edited(0, (r) => Object.assign(r, { outcome: 'not_rated', level: null })),
      'items.0.source',
    ],
    [
      'anonymous with a rater',
      edited(0, (r) => Object.assign(r, { anonymous: true, rater: { name: '王五', phone: '13900000000' } })),
      'items.0.rater: must be null for an anonymous rating',
    ],
    [
      'a 差评 without a reason status',
      edited(3, (r) =>
        Object.assign(r, { reason_status: 'not_required', reasons: [], reason_dict_version: null }),
      ),
      'items.3.reason_status',
    ],
    ['an unknown outcome', edited(1, (r) => Object.assign(r, { outcome: 'maybe' })), 'items.1.outcome'],
    ['an unknown signal', edited(2, (r) => Object.assign(r, { signals: ['tired'] })), 'items.2.signals.0'],
    [
      'a dimension level 6',
      edited(0, (r) => Object.assign(r, { dimensions: { attitude: 6 } })),
      'items.0.dimensions.attitude',
    ],
    ['a missing national field', edited(1, (r) => delete r.config_version), 'items.1.config_version'],
    ['a missing outcome', edited(1, (r) => delete r.outcome), 'items.1.outcome'],
    [
      'a legacy record with an unknown key',
      edited(1, (r) => {
        for (const key of Object.keys(r)) if (!LEGACY_KEYS.has(key)) delete r[key];
        Object.assign(r, { level: 4, source: 'screen', extra: 1 });
      }),
      'items.1: Unrecognized key: "extra"',
    ],
    [
      'a record without outcome but with a national field (a current one missing it)',
      edited(1, (r) => {
        for (const key of Object.keys(r)) if (!LEGACY_KEYS.has(key)) delete r[key];
        Object.assign(r, { level: 4, source: 'screen', signals: [] });
      }),
      'items.1.outcome',
    ],
  ];

  it.each(cases)('rejects %s', async (_name, body, messagePart) => {
    const before = await t.snapshot();
    const res = await t.post(body);
    expect(res.status).toBe(400);
    const error = asError(res);
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toContain(messagePart);
    expect(await t.snapshot()).toEqual(before);
  });
});

const LEGACY_KEYS = new Set(Object.keys(makeStream({ count: 1, legacy: () => true })[0] ?? {}));
