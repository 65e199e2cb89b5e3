import { Ajv, type ValidateFunction } from 'ajv';
import { z } from 'zod';
import {
  batchItemIssues,
  currentIngestBatchSchema,
  type RatingRecord,
  ratingRuleIssues,
} from '../src-shared/index.ts';
import type { HubIngestBatch } from './store/types.ts';

/**
 * A compiled check of the common upload (current records only), for the hub's parse workers:
 * zod's check of a record took 9–13 µs of the about 30 µs a worker spends on one, and this one
 * 3–6 µs. It is made from the same zod schema (currentIngestBatchSchema, as JSON Schema,
 * compiled by ajv) and runs the same cross-field rules (ratingRuleIssues, batchItemIssues).
 *
 * It only ever *accepts* what zod accepts, with the same result: anything it refuses is checked
 * again by zod (readIngestBatch), which gives the errors and the dead letters. So every object
 * refuses keys it does not name: zod's plain `z.object` (the pad's) would strip them, changing
 * the record and its hash check with it, and such a record goes zod's way. The date-time `format`
 * is left to the `pattern` zod writes beside it (the same regex zod runs); text lengths count code
 * points in both (a surrogate pair once, a lone surrogate as one).
 */
export function fastCurrentBatch(body: unknown): HubIngestBatch | undefined {
  if (!validator()(body)) return undefined;
  const batch = body as HubIngestBatch & { items: RatingRecord[] };
  if (batchItemIssues(batch).length > 0) return undefined;
  for (const item of batch.items) if (ratingRuleIssues(item).length > 0) return undefined;
  return batch;
}

let compiled: ValidateFunction | undefined;

/**
 * Compiles the check now (about 100 ms on a hall server) rather than on the first upload: a parse
 * worker calls it as it starts, so a warmed hub's first uploads do not wait for it.
 */
export function prepareFastCheck(): void {
  validator();
}

function validator(): ValidateFunction {
  if (!compiled) compiled = compile();
  return compiled;
}

function compile(): ValidateFunction {
  const schema = z.toJSONSchema(currentIngestBatchSchema, { io: 'input', unrepresentable: 'throw' });
  delete (schema as { $schema?: string }).$schema;
  const ajv = new Ajv({
    strict: true,
    strictNumbers: true,
    allErrors: false,
    // The only format zod writes here; its pattern, written beside it, is what checks the text.
    formats: { 'date-time': true },
  });
  return ajv.compile(closed(schema) as object);
}

/** The JSON Schema with every object schema refusing keys it does not name. */
export function closed(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closed);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = closed(value);
  if (out.type === 'object') out.additionalProperties = false;
  return out;
}
