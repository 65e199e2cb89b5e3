import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHub } from '../../hub/server.ts';
import { run as runStatus } from '../../src-main/cli/status.ts';
import { CounterStore, plainGiven, rowToRecord } from '../../src-main/core/store/counter-store.ts';
import { SyncLoop } from '../../src-main/core/sync.ts';
import {
  type AnyRatingRecord,
  chainInput,
  DEAD_LETTER_HEADER,
  HUB_API,
  type IngestReply,
} from '../../src-shared/index.ts';
import { loadOrCreateSecret } from '../../src-shared/secret-file.ts';
import { ratingCtx } from '../core/store-fixtures.ts';
import { openTestStore, testDb } from '../hub/harness.ts';
import { hubExport, testTmp, until } from './harness.ts';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const SYNC = { interval_ms: 20, batch_size: 50, backoff_min_ms: 10, backoff_max_ms: 50 };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(testTmp(), 'haocha-dead-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Writes the next rating straight into the counter's table, bypassing the store's own schema
 * check, as a buggy or newer app might have: valid by hash and chain, not by the record schema.
 */
function plantUnreadable(store: CounterStore, edit: Record<string, unknown>): number {
  const last = store.db.prepare('SELECT * FROM ratings ORDER BY seq DESC LIMIT 1').get() as Record<
    string,
    unknown
  >;
  const row: Record<string, unknown> = {
    ...last,
    ...edit,
    seq: (last.seq as number) + 1,
    event_id: uuidv7(),
    prev_hash: last.hash,
  };
  row.hash = sha256(chainInput(rowToRecord(row as never, store.deviceId)));
  const cols = Object.keys(row);
  store.db
    .prepare(`INSERT INTO ratings (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`)
    .run(row);
  return row.seq as number;
}

function rate(store: CounterStore, n: number, from: number): void {
  for (let i = 0; i < n; i++)
    store.commitRating(plainGiven(5, null), ratingCtx({ case_ref: `C-${from + i}` }));
}

describe('dead letters end to end', () => {
  it('a record the hub cannot read ends in both dead-letter tables; later ratings still arrive; nothing lost', async () => {
    const hubDir = join(dir, 'hub');
    // The hub's database: SQLite in hubDir, or a fresh PostgreSQL schema (project hub-postgres).
    const db = await testDb();
    const hub = await startHub({ dataDir: hubDir, db, port: 0, logger: false });
    const store = new CounterStore(join(dir, 'counter.db'));
    rate(store, 3, 1);
    // free_text longer than the record schema's 500: a failing rule, hash and chain sound.
    const bad = plantUnreadable(store, { free_text: '长'.repeat(600) });
    rate(store, 3, 5);
    const sync = new SyncLoop(store, hub.url, SYNC);
    let listing: {
      dead_letters: { seq: number; reason: string; hash: string; record: Record<string, unknown> }[];
    };
    let metrics: string;
    try {
      sync.start();
      await until(() => store.queueStats().queue_depth === 0, 10_000, 'queue drained');
      const view = sync.view();
      expect(view).toMatchObject({ queue_depth: 0, last_acked_seq: 7, dead_letters: 1, hub: 'ok' });
      const alarm = sync.deadLetterAlarm();
      expect(alarm?.kind).toBe('dead_letter');
      expect(alarm?.message).toContain(`seq ${bad}`);
      const token = loadOrCreateSecret(hubDir, 'admin.token').token;
      const res = await fetch(`${hub.url}${HUB_API}/admin/dead-letters`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      listing = (await res.json()) as typeof listing;
      expect((await fetch(`${hub.url}${HUB_API}/admin/dead-letters`)).status).toBe(401);
      metrics = await (await fetch(`${hub.url}/metrics`)).text();
    } finally {
      sync.stop();
      await hub.close();
    }
    // The counter's own table: the seq, the hub's reason, when.
    const local = store.db.prepare('SELECT seq, event_id, reason, at FROM dead_letter').all() as {
      seq: number;
      reason: string;
    }[];
    expect(local).toHaveLength(1);
    expect(local[0]).toMatchObject({ seq: bad, reason: expect.stringContaining('free_text') });
    // The hub's: verbatim (its hash is still the record's), with the reason; the metric counts it.
    expect(listing.dead_letters).toHaveLength(1);
    const held = listing.dead_letters[0] as (typeof listing.dead_letters)[number];
    expect(held).toMatchObject({ seq: bad, reason: expect.stringContaining('free_text') });
    expect(sha256(chainInput(held.record as unknown as AnyRatingRecord))).toBe(held.hash);
    expect(held.record.free_text).toBe('长'.repeat(600));
    expect(metrics).toContain('haocha_hub_dead_letters 1\n');
    expect(metrics).toContain('haocha_hub_dead_letters_total 1\n');
    // Every other rating arrived once; the dead letter is not counted as a rating.
    const { records } = await hubExport(hubDir, db);
    expect(records.map((r) => r.seq).sort((a, b) => a - b)).toEqual([1, 2, 3, 5, 6, 7]);
    const hubDb = await openTestStore(hubDir, db);
    try {
      expect(await hubDb.deviceCursor(store.deviceId)).toMatchObject({ last_seq: 7 });
    } finally {
      await hubDb.close();
    }
    store.close();
    // `haocha status` counts them, with the last one's reason.
    let printed = '';
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => {
      printed += chunk;
      return true;
    }) as typeof process.stdout.write;
    try {
      await runStatus(['--data', dir]);
    } finally {
      process.stdout.write = write;
    }
    expect(JSON.parse(printed)).toMatchObject({
      dead_letters: 1,
      last_dead_letter: { seq: bad, reason: expect.stringContaining('free_text') },
      queue_depth: 0,
    });
  });

  it('at the hub: an unknown field with a correct hash is a dead letter for a counter that takes them; 400 otherwise', async () => {
    const hubDir = join(dir, 'hub');
    // The hub's database: SQLite in hubDir, or a fresh PostgreSQL schema (project hub-postgres).
    const db = await testDb();
    const hub = await startHub({ dataDir: hubDir, db, port: 0, logger: false });
    const store = new CounterStore(join(dir, 'counter.db'));
    try {
      rate(store, 2, 1);
      const [first, second] = store.unsentBatch(2) as [AnyRatingRecord, AnyRatingRecord];
      // A field from a newer app version, resealed so the hash is right.
      const { hash: _h, ...body } = { ...second, mood: 'sunny' } as Record<string, unknown>;
      const newer = { ...body, hash: sha256(chainInput(body as never)) };
      const post = (items: unknown[], deadLetters: boolean) =>
        fetch(`${hub.url}${HUB_API}/ingest`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-encoding': 'gzip',
            ...(deadLetters ? { [DEAD_LETTER_HEADER]: '1' } : {}),
          },
          body: gzipSync(JSON.stringify({ device_id: store.deviceId, items })),
        });
      // An older counter (no header) keeps the whole-batch 400: no status it cannot parse.
      const old = await post([first, newer], false);
      expect(old.status).toBe(400);
      // A tampered body (hash no longer matches) is refused whole, header or not.
      const tampered = await post([first, { ...newer, mood: 'rainy' }], true);
      expect(tampered.status).toBe(400);
      const res = await post([first, newer], true);
      expect(res.status).toBe(200);
      const reply = (await res.json()) as IngestReply;
      expect(reply.ack_through_seq).toBe(2);
      expect(reply.items).toEqual([
        { seq: 1, status: 'stored' },
        { seq: 2, status: 'dead_letter', reason: expect.stringContaining('mood') },
      ]);
      // A resend (the reply was lost) hears the same: the counter records it then.
      const again = (await (await post([first, newer], true)).json()) as IngestReply;
      expect(again.items).toEqual([
        { seq: 1, status: 'duplicate' },
        { seq: 2, status: 'dead_letter', reason: expect.stringContaining('mood') },
      ]);
      // The next record links to the dead letter's hash and is stored.
      const third = {
        ...(first as Record<string, unknown>),
        seq: 3,
        event_id: uuidv7(),
        prev_hash: newer.hash,
      } as Record<string, unknown>;
      delete third.hash;
      const sealed = { ...third, hash: sha256(chainInput(third as never)) };
      const next = (await (await post([sealed], true)).json()) as IngestReply;
      expect(next.items).toEqual([{ seq: 3, status: 'stored' }]);
    } finally {
      store.close();
      await hub.close();
    }
    const { records } = await hubExport(hubDir, db);
    expect(records.map((r) => r.seq)).toEqual([1, 3]);
  });
});
