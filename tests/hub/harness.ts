import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { buildHub, type Hub } from '../../hub/server.ts';
import { openStore } from '../../hub/store/open.ts';
import { PostgresHubStore } from '../../hub/store/postgres/store.ts';
import { SqliteHubStore } from '../../hub/store/sqlite.ts';
import type { HubStore } from '../../hub/store/types.ts';
import {
  type HubError,
  hubErrorSchema,
  type IngestBatch,
  type IngestReply,
  ingestReplySchema,
  type StatsReply,
  statsReplySchema,
} from '../../src-shared/index.ts';

export async function makeTempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'haocha-hub-test-'));
}

/**
 * The engine the hub suites run on: SQLite, or PostgreSQL when HAOCHA_TEST_HUB_DB=postgres (the
 * "hub-postgres" project of vitest.config.ts, whose global setup starts a throwaway cluster).
 */
export type TestEngine = 'sqlite' | 'postgres';
export function testEngine(): TestEngine {
  return process.env.HAOCHA_TEST_HUB_DB === 'postgres' ? 'postgres' : 'sqlite';
}

let admin: pg.Pool | undefined;

/** The cluster's base URL (the postgres project only). */
export function pgBaseUrl(): string {
  const url = inject('haochaPgUrl');
  if (!url)
    throw new Error(
      'HAOCHA_TEST_HUB_DB=postgres needs tests/pg-global-setup.ts (run it through vitest.config.ts)',
    );
  return url;
}

/** A URL whose connections see only a fresh, empty schema: each test's own database. */
export async function freshPgUrl(): Promise<string> {
  const base = pgBaseUrl();
  admin ??= new pg.Pool({ connectionString: base, max: 2, allowExitOnIdle: true });
  const schema = `t_${randomBytes(8).toString('hex')}`;
  await admin.query(`CREATE SCHEMA ${schema}`);
  return `${base}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

/** The `db` option for buildHub/startHub/openStore: undefined (SQLite in the data dir) or a fresh PostgreSQL schema. */
export async function testDb(): Promise<string | undefined> {
  return testEngine() === 'postgres' ? freshPgUrl() : undefined;
}

/** A store on the engine under test; SQLite keeps its file in `dataDir`. */
export async function openTestStore(dataDir: string, db?: string): Promise<HubStore> {
  return openStore({ dataDir, db: db ?? (await testDb()) });
}

/** Rows of a table in storage order, whatever the engine (for before/after comparisons). */
async function rowsOf(store: HubStore, sql: string): Promise<unknown[]> {
  if (store instanceof PostgresHubStore) return (await store.pool.query(sql)).rows;
  if (store instanceof SqliteHubStore) return store.db.prepare(sql).all();
  throw new Error('unknown store engine');
}

/**
 * Rows of one query on the store's own database, whatever the engine, for what no public API gives
 * (derived columns, internal tables). `?` placeholders, in order (rewritten to $1, $2… on
 * PostgreSQL); write SQL both engines read the same (their columns have the same names and types).
 */
export async function queryStore<T = Record<string, unknown>>(
  store: HubStore,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  if (store instanceof PostgresHubStore) {
    let n = 0;
    return (
      await store.pool.query(
        sql.replace(/\?/g, () => `$${++n}`),
        params,
      )
    ).rows as T[];
  }
  if (store instanceof SqliteHubStore) return store.db.prepare(sql).all(...params) as T[];
  throw new Error('unknown store engine');
}

/** Makes a store unable to serve (closes its connection or pool), as a failed disk or network would. */
export async function breakTestStore(store: HubStore): Promise<void> {
  if (store instanceof PostgresHubStore) await store.close();
  else if (store instanceof SqliteHubStore) store.db.close();
  else throw new Error('unknown store engine');
}

export interface TestHub {
  hub: Hub;
  dataDir: string;
  /** The `db` the hub was built with (undefined: SQLite in dataDir). */
  db: string | undefined;
  /** POST a batch as JSON (or any raw payload with its own content type). */
  post(
    body: IngestBatch | string,
    headers?: Record<string, string>,
  ): Promise<{ status: number; json: unknown }>;
  get(
    url: string,
  ): Promise<{ status: number; json: unknown; body: string; headers: Record<string, unknown> }>;
  /** Everything ingest may change, to compare before and after a rejected batch. */
  snapshot(): Promise<unknown>;
  /** Stored (event_id, seq, hash) of every rating, in seq order. */
  ratingKeys(): Promise<{ event_id: string; seq: number; hash: string }[]>;
  /** Makes the store unable to serve (closes its connection or pool), as a failed disk or network would. */
  breakStore(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function openTestHub(
  options: { dataDir?: string; now?: () => Date; db?: string } = {},
): Promise<TestHub> {
  const dataDir = options.dataDir ?? (await makeTempDir());
  const db = options.db ?? (await testDb());
  const hub = await buildHub({ dataDir, logger: false, now: options.now, db });
  const store = hub.store;
  return {
    hub,
    dataDir,
    db,
    async post(body, headers = {}) {
      const res = await hub.app.inject({
        method: 'POST',
        url: '/api/v1/ingest',
        headers: { 'content-type': 'application/json', ...headers },
        payload: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: res.statusCode, json: safeJson(res.body) };
    },
    async get(url) {
      const res = await hub.app.inject({ method: 'GET', url });
      return { status: res.statusCode, json: safeJson(res.body), body: res.body, headers: res.headers };
    },
    async snapshot() {
      return {
        ratings: await rowsOf(store, 'SELECT * FROM ratings ORDER BY id'),
        devices: await rowsOf(store, 'SELECT * FROM devices ORDER BY device_id'),
        aliases: await rowsOf(store, 'SELECT * FROM chain_aliases ORDER BY device_id, seq'),
        keys: testEngine() === 'postgres' ? await rowsOf(store, 'SELECT * FROM rating_keys ORDER BY id') : [],
      };
    },
    async ratingKeys() {
      return (await rowsOf(store, 'SELECT event_id, seq, hash FROM ratings ORDER BY seq')) as {
        event_id: string;
        seq: number;
        hash: string;
      }[];
    },
    async breakStore() {
      if (store instanceof PostgresHubStore) await store.close();
      else if (store instanceof SqliteHubStore) store.db.close();
    },
    async cleanup() {
      await hub.close();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The body as the contract's ingest reply (throws if it is not one). */
export function asReply(res: { json: unknown }): IngestReply {
  return ingestReplySchema.parse(res.json);
}

/** The body as the contract's error shape (throws if it is not one). */
export function asError(res: { json: unknown }): HubError {
  return hubErrorSchema.parse(res.json);
}

export function asStats(res: { json: unknown }): StatsReply {
  return statsReplySchema.parse(res.json);
}
