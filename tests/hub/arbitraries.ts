import fc from 'fast-check';
import {
  type AnyRatingRecord,
  DIMENSIONS,
  FRAUD_SIGNALS,
  GENESIS_HASH,
  type LegacyRatingRecord,
  type Level,
  type RatingRecord,
} from '../../src-shared/index.ts';
import { reasonFields, seal } from './records.ts';

/**
 * fast-check generators of every valid record shape the contract allows, current and legacy,
 * including texts a hub must store faithfully: any code point, NUL, and now and then a lone
 * UTF-16 surrogate (which SQLite cannot keep).
 */

const anyChar = fc.oneof(
  { weight: 20, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.constant('\u0000') },
);
/** 1..max/2 characters: within the limit whether counted in code points or in UTF-16 units. */
const text = (max: number) =>
  fc.string({ unit: anyChar, minLength: 1, maxLength: Math.max(1, Math.floor(max / 2)) });
const optText = (max: number) => fc.option(text(max), { nil: null });

const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const uuid7 = fc.uuid({ version: 7 });
const level = fc.constantFrom<Level>(5, 4, 3, 2, 1);

/** An ISO time with Z or a ±hh:mm offset, as a counter in any time zone may write it. */
const isoTime = fc
  .tuple(
    fc.date({
      min: new Date('2020-01-01T00:00:00Z'),
      max: new Date('2035-01-01T00:00:00Z'),
      noInvalidDate: true,
    }),
    fc.integer({ min: -12 * 4, max: 14 * 4 }),
    fc.boolean(),
  )
  .map(([date, quarters, zulu]) => {
    if (zulu) return date.toISOString();
    const offsetMin = quarters * 15;
    const local = new Date(date.getTime() + offsetMin * 60_000).toISOString().slice(0, -1);
    const sign = offsetMin < 0 ? '-' : '+';
    const abs = Math.abs(offsetMin);
    return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  });

const pad = fc.option(
  fc.record({
    boot_id: fc.integer({ min: 0, max: 0xffffffff }),
    press_id: fc.integer({ min: 1, max: 0xffffffff }),
    key: fc.integer({ min: 1, max: 5 }),
  }),
  { nil: null },
);

const legacyBody = fc.record({
  event_id: uuid7,
  device_id: text(64),
  seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  level,
  channel: fc.constantFrom(4 as const, 5 as const),
  case_ref: optText(64),
  staff_no: text(32),
  staff_name: text(64),
  window_id: text(32),
  hall_id: text(32),
  opened_at: isoTime,
  rated_at: isoTime,
  mono_ms: fc.double({ min: 0, max: 1e15, noNaN: true, noDefaultInfinity: true }),
  app_boot_id: uuid7,
  source: fc.constantFrom('pad' as const, 'screen' as const),
  pad,
  prev_hash: hex64,
});

const reasonCodes = fc.uniqueArray(fc.stringMatching(/^[0-9A-Za-z_-]{1,16}$/), {
  minLength: 1,
  maxLength: 10,
});
const dimensions = fc.option(
  fc.record(
    Object.fromEntries(DIMENSIONS.map((d) => [d, level])) as Record<
      (typeof DIMENSIONS)[number],
      typeof level
    >,
    {
      requiredKeys: [],
    },
  ),
  { nil: null },
);

const currentBody = fc
  .tuple(
    legacyBody,
    fc.constantFrom('rated' as const, 'not_rated' as const),
    fc.constantFrom('pad' as const, 'screen' as const, 'wedge' as const),
    fc.constantFrom('given' as const, 'not_given' as const),
    reasonCodes,
    fc.boolean(),
    fc.record({
      name: optText(64),
      phone: fc.option(fc.string({ minLength: 3, maxLength: 32 }), { nil: null }),
    }),
    fc.record({
      item_code: optText(64),
      item_name: optText(200),
      case_status: optText(32),
      accepted_at: fc.option(isoTime, { nil: null }),
      finished_at: fc.option(isoTime, { nil: null }),
      assess_number: fc.constantFrom(1 as const, 2 as const),
      dimensions,
      free_text: optText(500),
      rater_type: fc.constantFrom('person' as const, 'company' as const, 'unknown' as const),
      signals: fc.subarray([...FRAUD_SIGNALS]),
      dept_id: optText(32),
      config_version: text(64),
      reason_dict_version: text(32),
    }),
  )
  .map(([base, outcome, source, badStatus, codes, anonymous, rater, extra]): Omit<RatingRecord, 'hash'> => {
    const lvl = outcome === 'rated' ? base.level : null;
    // The cross-field rules of ratingRecordSchema: reasons only with a 差评, no contact when anonymous.
    const reasons =
      lvl !== null && lvl <= 2
        ? {
            reason_status: badStatus,
            reasons: badStatus === 'given' ? codes : [],
            reason_dict_version: extra.reason_dict_version,
          }
        : reasonFields(lvl);
    return {
      ...base,
      ...extra,
      ...reasons,
      outcome,
      level: lvl,
      source: outcome === 'not_rated' ? 'timeout' : source,
      anonymous,
      rater: anonymous ? null : rater,
    };
  });

/** A valid current record, sealed (its hash verifies), not yet chained to anything. */
export const currentRecordArb: fc.Arbitrary<RatingRecord> = currentBody.map((b): RatingRecord => seal(b));

/** A valid record, current or legacy, sealed (its hash verifies), not yet chained to anything. */
export const anyRecordArb: fc.Arbitrary<AnyRatingRecord> = fc.oneof(
  legacyBody.map((b): LegacyRatingRecord => seal(b)),
  currentRecordArb,
);

/** Turns generated records into one device's valid stream: seq 1..n, chained from GENESIS_HASH. */
export function chainAs(deviceId: string, eventIds: string[], records: AnyRatingRecord[]): AnyRatingRecord[] {
  let prev = GENESIS_HASH;
  return records.map((record, i) => {
    const { hash: _h, ...body } = record;
    const linked = seal({
      ...body,
      device_id: deviceId,
      seq: i + 1,
      event_id: eventIds[i] ?? body.event_id,
      prev_hash: prev,
    });
    prev = linked.hash;
    return linked;
  });
}
