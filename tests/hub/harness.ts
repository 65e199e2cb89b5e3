import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildHub, type Hub } from '../../hub/server.ts';
import type { SqliteHubStore } from '../../hub/store/sqlite.ts';
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

export interface TestHub {
  hub: Hub;
  dataDir: string;
  /** POST a batch as JSON (or any raw payload with its own content type). */
  post(
    body: IngestBatch | string,
    headers?: Record<string, string>,
  ): Promise<{ status: number; json: unknown }>;
  get(
    url: string,
  ): Promise<{ status: number; json: unknown; body: string; headers: Record<string, unknown> }>;
  /** Everything ingest may change, to compare before and after a rejected batch. */
  snapshot(): unknown;
  cleanup(): Promise<void>;
}

export async function openTestHub(options: { dataDir?: string; now?: () => Date } = {}): Promise<TestHub> {
  const dataDir = options.dataDir ?? (await makeTempDir());
  const hub = await buildHub({ dataDir, logger: false, now: options.now });
  const db = (hub.store as SqliteHubStore).db;
  return {
    hub,
    dataDir,
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
    snapshot() {
      return {
        ratings: db.prepare('SELECT * FROM ratings ORDER BY id').all(),
        devices: db.prepare('SELECT * FROM devices ORDER BY device_id').all(),
        aliases: db.prepare('SELECT * FROM chain_aliases ORDER BY device_id, seq').all(),
      };
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
