import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { exportRatings, JSONL_ADDED_KEYS } from '../../hub/export.ts';
import { recordHash } from '../../hub/ingest-rules.ts';
import { openStore } from '../../hub/store/open.ts';
import type { AnyRatingRecord } from '../../src-shared/index.ts';
import { GENESIS_HASH } from '../../src-shared/index.ts';

/**
 * Where the stores go: /dev/shm when there is one. These tests kill processes, not machines, and a
 * killed process loses nothing that reached the page cache, so tmpfs proves the same as a disk,
 * without an fsync per commit on a shared CI disk. HAOCHA_SYNC_TMP overrides.
 */
export function testTmp(): string {
  if (process.env.HAOCHA_SYNC_TMP) return process.env.HAOCHA_SYNC_TMP;
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

export async function until(
  cond: () => boolean | Promise<boolean>,
  ms: number,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not met in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A free loopback port (bound, then released). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface HubRow {
  device_id: string;
  seq: number;
  event_id: string;
  hash: string;
  prev_hash: string;
}

/**
 * Every rating the hub stores, read with the code of `haocha hub export` (the hub must be stopped),
 * from the hub's database: `db` as the hub was started with (undefined: SQLite in hubDir).
 */
export async function hubExport(
  hubDir: string,
  db?: string,
): Promise<{ rows: HubRow[]; records: AnyRatingRecord[] }> {
  const store = await openStore({ dataDir: hubDir, db });
  let text = '';
  try {
    await exportRatings(store, { format: 'jsonl' }, (chunk) => {
      text += chunk;
    });
  } finally {
    await store.close();
  }
  const records = text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const r = JSON.parse(line) as Record<string, unknown>;
      for (const k of JSONL_ADDED_KEYS) delete r[k];
      return r as unknown as AnyRatingRecord;
    });
  const rows = records.map((r) => {
    const x = r as unknown as HubRow;
    return { device_id: x.device_id, seq: x.seq, event_id: x.event_id, hash: x.hash, prev_hash: x.prev_hash };
  });
  return { rows, records };
}

/** Checks one device's stream at the hub: seq 1..n gap-free, each hash its record's, each linked to the one before. */
export function verifyHubChain(records: AnyRatingRecord[], deviceId: string): string | null {
  const mine = records
    .filter((r) => (r as unknown as HubRow).device_id === deviceId)
    .sort((a, b) => (a as unknown as HubRow).seq - (b as unknown as HubRow).seq);
  let prev = GENESIS_HASH;
  for (const [i, r] of mine.entries()) {
    const x = r as unknown as HubRow;
    if (x.seq !== i + 1) return `seq ${x.seq} at position ${i + 1}`;
    if (x.prev_hash !== prev) return `prev_hash at seq ${x.seq}`;
    if (recordHash(r) !== x.hash) return `hash at seq ${x.seq}`;
    prev = x.hash;
  }
  return null;
}

/**
 * Lost and duplicated, comparing what the counter committed with what the hub holds: lost = committed
 * but absent at the hub; duplicated = a rating held twice (same event_id, or same (device, seq)),
 * plus anything at the hub the counter never committed.
 */
export function compare(
  counter: { seq: number; event_id: string }[],
  hub: HubRow[],
  deviceId: string,
): { lost: number; duplicated: number; foreign: number } {
  const hubEvents = new Map<string, number>();
  const hubSeqs = new Map<string, number>();
  for (const r of hub) {
    hubEvents.set(r.event_id, (hubEvents.get(r.event_id) ?? 0) + 1);
    const key = `${r.device_id}/${r.seq}`;
    hubSeqs.set(key, (hubSeqs.get(key) ?? 0) + 1);
  }
  const committed = new Set(counter.map((r) => r.event_id));
  let lost = 0;
  for (const r of counter) {
    if (!hubEvents.has(r.event_id) || !hubSeqs.has(`${deviceId}/${r.seq}`)) lost++;
  }
  let duplicated = 0;
  for (const n of hubEvents.values()) duplicated += n - 1;
  for (const n of hubSeqs.values()) duplicated += n - 1;
  const foreign = hub.filter((r) => !committed.has(r.event_id)).length;
  return { lost, duplicated, foreign };
}
