/**
 * The hub's compiled upload check (hub/ingest-fast-check.ts) against zod's check of the same
 * batch, timed alternately in one run: 500 current records, as a counter uploads them. The
 * compiled check exists only to be cheaper, so it must take at most 0.6× zod's time (measured
 * when it landed: 3.3–5.6 against 8.6–13.0 µs a record); both must accept the batch.
 * Run: node --import tsx bench/record-check.ts
 */
import { fastCurrentBatch, prepareFastCheck } from '../hub/ingest-fast-check.ts';
import { currentIngestBatchSchema } from '../src-shared/index.ts';
import { batchOf, makeStream } from '../tests/hub/records.ts';
import { quantile } from './lib/quantile.ts';

const TARGET = 0.6;
const RECORDS = 500;

// Levels cycle 5..1, so a fifth of the records are 差评 with reasons; texts are Chinese.
const body = JSON.parse(JSON.stringify(batchOf(makeStream({ count: RECORDS }), 1, RECORDS))) as unknown;
prepareFastCheck();
if (!fastCurrentBatch(body)) throw new Error('the compiled check refused a valid batch');
if (!currentIngestBatchSchema.safeParse(body).success) throw new Error('zod refused a valid batch');

/** µs a record for `reps` checks of the batch. */
function perRecord(check: () => unknown, reps: number): number {
  const t = performance.now();
  for (let i = 0; i < reps; i++) check();
  return ((performance.now() - t) * 1000) / reps / RECORDS;
}
const zod = () => currentIngestBatchSchema.safeParse(body);
const compiled = () => fastCurrentBatch(body);
for (let i = 0; i < 10; i++) {
  perRecord(zod, 5);
  perRecord(compiled, 5);
}
const zodRuns: number[] = [];
const compiledRuns: number[] = [];
for (let round = 0; round < 9; round++) {
  zodRuns.push(perRecord(zod, 20));
  compiledRuns.push(perRecord(compiled, 20));
}
const ratio = quantile(compiledRuns, 0.5) / quantile(zodRuns, 0.5);
console.log(
  `record check, ${RECORDS} records, median of 9 alternated rounds: zod ${quantile(zodRuns, 0.5).toFixed(2)} µs a record, compiled ${quantile(compiledRuns, 0.5).toFixed(2)} µs`,
);
console.log(
  `${ratio <= TARGET ? 'PASS' : 'FAIL'}  compiled / zod = ${ratio.toFixed(2)} (target ≤ ${TARGET})`,
);
process.exitCode = ratio <= TARGET ? 0 : 1;
