import { parentPort } from 'node:worker_threads';
import { HUB_ERROR_CODES } from '../src-shared/index.ts';
import { prepareFastCheck } from './ingest-fast-check.ts';
import { type PackedBatch, type ParseInput, type ParseResult, packParse } from './ingest-parse.ts';

/** A request to a parse worker and its answer, matched by id (ingest-parse-pool.ts). */
export interface ParseRequest extends ParseInput {
  id: number;
}
export type ParseAnswer = (ParseResult | { ok: true; packed: PackedBatch }) & { id: number };

if (!parentPort) throw new Error('ingest-parse-worker runs as a worker thread');
const port = parentPort;
prepareFastCheck();
port.on('message', (request: ParseRequest) => {
  let answer: ParseAnswer;
  try {
    answer = { id: request.id, ...packParse(request) };
  } catch (error) {
    // A defect, not a bad body: the route answers 500 and logs it.
    answer = {
      id: request.id,
      ok: false,
      statusCode: 500,
      code: HUB_ERROR_CODES.internal,
      message: String(error),
    };
  }
  port.postMessage(answer);
});
