/**
 * The counter writes one record to a line (still one JSON document) and the hub reads such a body
 * line by line (hub/ingest-parse.ts, readBatchLines). It must give exactly what parsing the whole
 * text gives, or nothing (the whole text is then parsed as before), whatever the body.
 */
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIngestBody, readBatchLines } from '../../hub/ingest-parse.ts';
import { INGEST_BODY_LIMIT } from '../../hub/routes/ingest.ts';
import { cutBatch } from '../../src-main/core/sync.ts';
import { batchOf, makeStream } from './records.ts';

const stream = makeStream({ count: 30, legacy: (i) => i % 7 === 3 });

/** What parsing the whole body gives, or the marker when the body is not JSON. */
function whole(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
}
const NOT_JSON = Symbol('not JSON');

describe('reading an upload line by line', () => {
  it("reads the counter's own bodies, and gives exactly the whole-text parse", () => {
    const batch = batchOf(stream, 1, 30);
    const items = batch.items.map((r) => Buffer.from(JSON.stringify(r)));
    const { body, count } = cutBatch(batch.device_id, items, {
      maxBytes: 1 << 20,
      maxItems: 30,
      maxRawBytes: 1 << 22,
    });
    expect(count).toBe(30);
    const text = gunzipSync(body);
    const lines = readBatchLines(text);
    expect(lines?.body).toEqual(JSON.parse(text.toString()));
    expect(lines?.body).toEqual(batch);
    // Each record's own text, as the worker hands it back (PackedBatch).
    expect(lines?.texts.map((t) => JSON.parse(t))).toEqual(batch.items);
    // One record: the only value line has no comma.
    const one = gunzipSync(
      cutBatch(batch.device_id, items.slice(0, 1), { maxBytes: 1 << 20, maxItems: 1, maxRawBytes: 1 << 22 })
        .body,
    );
    expect(readBatchLines(one)?.body).toEqual({ device_id: batch.device_id, items: [batch.items[0]] });
    // And the whole upload path gives the same batch as the old one-line layout.
    const parsed = parseIngestBody({ body, gzip: true, deadLetters: false, maxBytes: INGEST_BODY_LIMIT });
    const oneLine = parseIngestBody({
      body: Buffer.from(JSON.stringify(batch)),
      gzip: false,
      deadLetters: false,
      maxBytes: INGEST_BODY_LIMIT,
    });
    expect(parsed).toEqual(oneLine);
  });

  it('leaves every other layout to the whole-text parse', () => {
    const r = '{"a":1}';
    for (const text of [
      `{"device_id":"d","items":[${r}]}`, // one line
      `{"device_id":"d","items":[\n]}`, // no value
      `{"device_id":"d","items":[\n${r},\n]}`, // trailing comma: not JSON
      `{"device_id":"d","items":[\n${r}\n]}\n`, // something after the close
      `{"device_id":"d","items":[\r\n${r}\r\n]}`, // CRLF
      `{"device_id":"d","items":[\n${r},\n\n${r}\n]}`, // empty line
      `{"device_id":"d","items":[\n${r}\n${r}\n]}`, // missing comma
      `{"device_id":"d","x":1,"items":[\n${r}\n]}`, // another key
      `{"device_id":"d","items":[1,\n${r}\n]}`, // a value on the first line
      `{"device_id":"d","items":[\n{"a":\n1}\n]}`, // a value over two lines
      `{"device_id":"d","items":[\n{"__proto__":{"x":1}}\n]}`, // refused as a whole body is
      `["device_id","items":[\n${r}\n]}`,
    ]) {
      expect(readBatchLines(Buffer.from(text)), text).toBeUndefined();
    }
  });

  it('gives the whole-text parse or nothing for any body made of lines (property)', () => {
    const value = fc.jsonValue({ maxDepth: 2 });
    // Values written on one line, or spread over several (newlines between tokens).
    const written = fc
      .tuple(value, fc.boolean())
      .map(([v, spread]) => JSON.stringify(v, null, spread ? 1 : 0) ?? 'null');
    const head = fc.constantFrom(
      '{"device_id":"d","items":[',
      '{"items":[],"device_id":"d","items":[',
      '{ "device_id" : "d" , "items":[',
      '{"device_id":"d","items":[1],"items":[',
      '{"device_id":"d","items":',
      '{"device_id":"d","x\\"items":[',
      '{"items":[',
      '{"device_id":{"items":[',
      '[{"device_id":"d","items":[',
    );
    const separator = fc.constantFrom(
      ',\n',
      ',\n',
      ',\n',
      ',',
      '\n,',
      ' ,\n',
      ',\r\n',
      ',\n\n',
      '\n',
      ',\n,\n',
    );
    const afterHead = fc.constantFrom('\n', '\n', '', ' \n', '\n\n');
    const close = fc.constantFrom('\n]}', '\n]}', ']}', '\n]}\n', '\n ]}', '\n] }', '\n]', '\n]}}');
    fc.assert(
      fc.property(
        head,
        afterHead,
        fc.array(fc.tuple(written, separator), { maxLength: 6 }),
        close,
        (h, a, values, c) => {
          const text = h + a + values.map(([v, s], i) => (i === values.length - 1 ? v : v + s)).join('') + c;
          const expected = whole(text);
          const got = readBatchLines(Buffer.from(text))?.body;
          if (got !== undefined) expect(got).toEqual(expected);
          if (expected === NOT_JSON) expect(got).toBeUndefined();
          // The counter's own layout is always read line by line.
          const plain =
            h === '{"device_id":"d","items":[' &&
            a === '\n' &&
            c === '\n]}' &&
            values.length > 0 &&
            values.every(([v, s], i) => !v.includes('\n') && (i === values.length - 1 || s === ',\n'));
          if (plain) expect(got).toEqual(expected);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
