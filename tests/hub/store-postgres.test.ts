import { createServer, type Server, Socket } from 'node:net';
import fc from 'fast-check';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, redact } from '../../hub/store/open.ts';
import { PG_MIGRATIONS } from '../../hub/store/postgres/migrations.ts';
import {
  isPostgresUrl,
  monthBounds,
  openPostgresHubStore,
  type PostgresHubStore,
  partitionName,
} from '../../hub/store/postgres/store.ts';
import { type DeadLetterItem, StoreUnavailableError } from '../../hub/store/types.ts';
import { shanghaiDay } from '../../hub/time.ts';
import { type AnyRatingRecord, canonicalJson, type HeartbeatRequest } from '../../src-shared/index.ts';
import { asError, freshPgUrl, makeTempDir, openTestHub, pgBaseUrl, type TestHub } from './harness.ts';
import { batchOf, makeStream, seal, sha256Hex, verifies } from './records.ts';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function store(url: string): Promise<PostgresHubStore> {
  const s = await openPostgresHubStore(url);
  open.push(s);
  return s;
}

async function partitions(s: PostgresHubStore): Promise<string[]> {
  const { rows } = await s.pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = to_regclass('ratings') ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}

async function countIn(s: PostgresHubStore, table: string): Promise<number> {
  const { rows } = await s.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]?.n ?? -1;
}

describe('month partitions (pure)', () => {
  it('a month partition holds exactly the days of that month, and names sort by month', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('2000-01-01T00:00:00Z'),
          max: new Date('2200-12-31T00:00:00Z'),
          noInvalidDate: true,
        }),
        fc.date({
          min: new Date('2000-01-01T00:00:00Z'),
          max: new Date('2200-12-31T00:00:00Z'),
          noInvalidDate: true,
        }),
        (a, b) => {
          const day = shanghaiDay(a.toISOString());
          const month = day.slice(0, 7);
          const { from, to } = monthBounds(month);
          expect(from <= day && day < to).toBe(true);
          // The next month starts where this one ends: no gap, no overlap.
          expect(monthBounds(to.slice(0, 7)).from).toBe(to);
          const other = shanghaiDay(b.toISOString()).slice(0, 7);
          expect(Math.sign(partitionName(month).localeCompare(partitionName(other)))).toBe(
            Math.sign(month.localeCompare(other)),
          );
        },
      ),
    );
  });

  it('bounds at the turn of a year', () => {
    expect(monthBounds('2026-12')).toEqual({ from: '2026-12-01', to: '2027-01-01' });
    expect(monthBounds('2026-02')).toEqual({ from: '2026-02-01', to: '2026-03-01' });
    expect(partitionName('2026-02')).toBe('ratings_p202602');
  });

  it('recognises PostgreSQL URLs and hides their password', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9]{1,12}$/),
        fc.stringMatching(/^[^@/\s]{1,12}$/),
        (user, secret) => {
          const url = `postgres://${user}:${secret}@db.example:5432/hub`;
          expect(isPostgresUrl(url)).toBe(true);
          expect(isPostgresUrl(url.replace('postgres:', 'postgresql:'))).toBe(true);
          expect(redact(url)).toBe(`postgres://${user}:***@db.example:5432/hub`);
        },
      ),
    );
    expect(isPostgresUrl('/var/lib/haocha/hub')).toBe(false);
    expect(isPostgresUrl('mysql://x')).toBe(false);
  });
});

describe('PostgreSQL hub store', () => {
  it('migrates a fresh schema once, under a lock, even when two hubs open it together', async () => {
    const url = await freshPgUrl();
    const [a, b] = await Promise.all([store(url), store(url)]);
    const latest = PG_MIGRATIONS.at(-1)?.version;
    expect([a.migration.to, b.migration.to]).toEqual([latest, latest]);
    // Exactly one of them applied the steps.
    expect([a.migration.from, b.migration.from].sort()).toEqual([0, latest]);
    const { rows } = await a.pool.query('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(PG_MIGRATIONS.map((m) => m.version));
    expect(await partitions(a)).toEqual(['ratings_default']);
  });

  it('a rating in a new month creates that month partition, in the same transaction', async () => {
    const s = await store(await freshPgUrl());
    const stream = makeStream({
      count: 3,
      ratedAt: (i) => ['2026-11-30T15:59:00Z', '2026-11-30T16:00:00Z', '2031-03-05T02:00:00Z'][i] as string,
    });
    const outcome = await s.ingest(batchOf(stream, 1, 3), new Date('2026-12-01T00:00:00Z'));
    expect(outcome.ok && outcome.stored).toBe(3);
    // 2026-11-30T16:00Z is 2026-12-01 in Shanghai: the month follows the Shanghai day, as stats do.
    expect(await partitions(s)).toEqual([
      'ratings_default',
      'ratings_p202611',
      'ratings_p202612',
      'ratings_p203103',
    ]);
    expect(await countIn(s, 'ratings_p202611')).toBe(1);
    expect(await countIn(s, 'ratings_p202612')).toBe(1);
    expect(await countIn(s, 'ratings_p203103')).toBe(1);
    expect(await countIn(s, 'ratings_default')).toBe(0);
    expect(await countIn(s, 'rating_keys')).toBe(3);

    // A second store (a restarted hub: empty month cache) finds the partitions there.
    const again = await store(s.pool.options.connectionString as string);
    const more = makeStream({ count: 4, ratedAt: () => '2031-03-06T02:00:00Z' }).slice(3);
    const next = await again.ingest(
      {
        device_id: 'counter-01',
        items: [reseal(more[0], { prev_hash: stream[2]?.hash as string })],
      },
      new Date(),
    );
    expect(next.ok).toBe(true);
    expect(await countIn(s, 'ratings_p203103')).toBe(2);
  });

  it('a rejected batch creates no partition and stores nothing', async () => {
    const s = await store(await freshPgUrl());
    const stream = makeStream({ count: 2, ratedAt: () => '2030-07-01T02:00:00Z' });
    const outcome = await s.ingest(batchOf(stream, 2, 2), new Date());
    expect(outcome.ok).toBe(false);
    expect(await partitions(s)).toEqual(['ratings_default']);
    expect(await countIn(s, 'devices')).toBe(0);
  });

  it('a month whose rows already sit in the DEFAULT partition keeps going there instead of failing', async () => {
    const s = await store(await freshPgUrl());
    const [first, second] = makeStream({
      count: 2,
      ratedAt: (i) => `2029-05-0${i + 1}T02:00:00Z`,
    });
    if (!first || !second) throw new Error('stream');
    // As if the partition had been dropped by hand after a row landed in the default.
    await s.ingest({ device_id: 'counter-01', items: [first] }, new Date());
    await s.pool.query('DROP TABLE ratings_p202905');
    await s.pool.query(
      `INSERT INTO ratings_default SELECT k.id, k.event_id, k.device_id, k.seq, 2, 'rated', 5, 4, NULL, NULL, NULL,
         NULL, NULL, NULL, 1, '[]', 'not_required', NULL, NULL, NULL, 'citizen', 1, NULL, '[]', 's', 'n', 'W01',
         'H', NULL, 'c', '2029-05-01T02:00:00Z', '2029-05-01T02:00:00Z', 1, 'b', 'screen', NULL, NULL, NULL, 'p',
         k.hash, NULL, 'r', '2029-05-01', 0, 0, 0 FROM rating_keys k`,
    );
    const fresh = await store(s.pool.options.connectionString as string);
    const outcome = await fresh.ingest({ device_id: 'counter-01', items: [second] }, new Date());
    expect(outcome.ok && outcome.stored).toBe(1);
    expect(await countIn(s, 'ratings_default')).toBe(2);
  });

  it('the same batch sent over two connections at once is stored once', async () => {
    const url = await freshPgUrl();
    const [a, b] = [await store(url), await store(url)];
    for (let round = 0; round < 5; round++) {
      const deviceId = `race-${round}`;
      const stream = makeStream({
        deviceId,
        count: 20,
        ratedAt: (i) => `20${40 + round}-01-0${1 + (i % 9)}T02:00:00Z`,
      });
      // Odd rounds: a device the hub already knows (its row exists), even rounds: a new one.
      const from = round % 2 === 1 ? 6 : 1;
      if (from > 1) expect((await a.ingest(batchOf(stream, 1, from - 1), new Date())).ok).toBe(true);
      const batch = batchOf(stream, from, 20);
      const [x, y] = await Promise.all([a.ingest(batch, new Date()), b.ingest(batch, new Date())]);
      if (!x.ok || !y.ok) throw new Error('both must be accepted');
      expect([x.stored, y.stored].sort((p, q) => p - q)).toEqual([0, 21 - from]);
      expect(x.reply.ack_through_seq).toBe(20);
      expect(y.reply.ack_through_seq).toBe(20);
      const { rows } = await a.pool.query('SELECT count(*)::int AS n FROM ratings WHERE device_id = $1', [
        deviceId,
      ]);
      expect(rows[0].n).toBe(20);
    }
    expect(await countIn(a, 'rating_keys')).toBe(100);
  });

  it('many devices opening new months at once all commit (no deadlock, no duplicate partition)', async () => {
    const url = await freshPgUrl();
    const stores = [await store(url), await store(url), await store(url)];
    const batches = Array.from({ length: 12 }, (_, d) =>
      batchOf(
        makeStream({
          deviceId: `dev-${d}`,
          count: 3,
          ratedAt: (i) => `2050-${String(((d + i) % 12) + 1).padStart(2, '0')}-15T02:00:00Z`,
        }),
        1,
        3,
      ),
    );
    const outcomes = await Promise.all(batches.map((batch, i) => stores[i % 3]?.ingest(batch, new Date())));
    expect(outcomes.map((o) => o?.ok && o.stored)).toEqual(batches.map(() => 3));
    expect(
      (await partitions(stores[0] as PostgresHubStore)).filter((p) => p.startsWith('ratings_p2050')),
    ).toHaveLength(12);
    expect(await countIn(stores[0] as PostgresHubStore, 'ratings_default')).toBe(0);
  });

  it('keeps a text with NUL (refused by PostgreSQL text) verbatim: read back, it still verifies', async () => {
    const s = await store(await freshPgUrl());
    const [a] = makeStream({ count: 1 });
    if (!a) throw new Error('stream');
    const odd = reseal(a, { staff_name: 'A\u0000B', case_ref: '\ud800x' });
    const outcome = await s.ingest({ device_id: 'counter-01', items: [odd] }, new Date());
    expect(outcome.ok && outcome.stored).toBe(1);
    const page = await s.listRatings({});
    const { received_at: _r, ...back } = page.ratings[0] as (typeof page.ratings)[number];
    expect(back).toEqual(odd);
    expect(verifies(back)).toBe(true);
  });
});

describe('PostgreSQL sub-stores mirrored from SQLite', () => {
  it('config versions: seq by seq, the newest is current, concurrent publishes never share a seq', async () => {
    const url = await freshPgUrl();
    const [a, b, c] = [await store(url), await store(url), await store(url)];
    expect(await a.configs.current()).toBeNull();
    const at = new Date('2026-11-27T02:00:00Z');
    const published = await Promise.all(
      Array.from({ length: 24 }, (_, i) => [a, b, c][i % 3]?.configs.publish({ n: i, text: 'A\u0000B' }, at)),
    );
    expect(published.map((p) => p?.seq).sort((x = 0, y = 0) => x - y)).toEqual(
      Array.from({ length: 24 }, (_, i) => i + 1),
    );
    const current = await b.configs.current();
    expect(current?.seq).toBe(24);
    expect(current?.content).toMatchObject({ text: 'A\u0000B' });
    expect((await a.configs.history(3)).map((h) => h.seq)).toEqual([24, 23, 22]);
  });

  it('dead letters take their seq place, are kept verbatim, not counted, and a resend hears the reason again', async () => {
    const s = await store(await freshPgUrl());
    const stream = makeStream({ count: 3 });
    const [one, two] = stream;
    if (!one || !two) throw new Error('stream');
    const { hash: _h, ...body } = two;
    const raw = { ...body, from_a_newer_app: true };
    const hash = sha256Hex(canonicalJson(raw));
    const dead: DeadLetterItem = {
      dead_letter: true,
      device_id: two.device_id,
      seq: two.seq,
      event_id: two.event_id,
      prev_hash: two.prev_hash,
      hash,
      raw: { ...raw, hash },
      reason: 'from_a_newer_app: unrecognized key',
    };
    const three = reseal(stream[2], { prev_hash: hash });
    const batch = { device_id: 'counter-01', items: [one, dead, three] };
    const outcome = await s.ingest(batch, new Date());
    if (!outcome.ok) throw new Error(outcome.rejection.message);
    expect(outcome.reply.items.map((i) => i.status)).toEqual(['stored', 'dead_letter', 'stored']);
    expect(outcome).toMatchObject({ stored: 2, duplicates: 0, dead_letters: 1 });
    expect(await s.summary()).toEqual({ ratings: 2, devices: 1, dead_letters: 1 });
    const page = await s.listDeadLetters({});
    expect(page.dead_letters).toHaveLength(1);
    expect(page.dead_letters[0]).toMatchObject({ seq: 2, reason: dead.reason, record: dead.raw });

    const again = await s.ingest(batch, new Date());
    if (!again.ok) throw new Error(again.rejection.message);
    expect(again.reply.items).toEqual([
      { seq: 1, status: 'duplicate' },
      { seq: 2, status: 'dead_letter', reason: dead.reason },
      { seq: 3, status: 'duplicate' },
    ]);
    expect(await s.summary()).toEqual({ ratings: 2, devices: 1, dead_letters: 1 });
  });
});

describe('PostgreSQL fleet store (mirrored from SQLite)', () => {
  function heartbeat(patch: Partial<HeartbeatRequest>): HeartbeatRequest {
    return {
      device_id: 'counter-01',
      hall_id: 'H1',
      window_id: 'W07',
      sent_at: '2026-11-27T03:00:05.000Z',
      mono_ms: 1000,
      app_boot_id: 'boot',
      heartbeat_s: 30,
      queue_depth: 0,
      oldest_unsent_age_s: null,
      chain_head: { seq: 0, hash: 'a'.repeat(64) },
      clock_offset_ms: 0,
      app_version: '0.1.0',
      config_version: 'embedded-1',
      pad: { link: 'up', alarm: null },
      store: { health: 'ok', message: null },
      session: { state: 'idle', staff_no: null },
      upload: { hub: 'ok', halted: false, last_error: null },
      alarms: [],
      ...patch,
    };
  }

  it('a heartbeat anchor corrects the times of its boot, before and after, and flags a rating before its case', async () => {
    const s = await store(await freshPgUrl());
    const stream = makeStream({ count: 4 });
    const boot = (stream[0] as AnyRatingRecord).app_boot_id;
    // The third rating claims a case accepted long after it: corrected, it is before_accept.
    const third = reseal(stream[2], { accepted_at: '2030-01-01T00:00:00.000Z' } as Partial<AnyRatingRecord>);
    const items = [stream[0], stream[1], third] as AnyRatingRecord[];
    const first = await s.ingest({ device_id: 'counter-01', items }, new Date());
    expect(first.ok).toBe(true);
    const hubAt = new Date('2026-11-27T03:00:00.000Z');
    // Anchor: mono 200000 on this boot is hubAt on the hub's clock.
    expect(await s.fleet.heartbeat(heartbeat({ app_boot_id: boot, mono_ms: 200_000 }), hubAt)).toEqual([]);
    const fourth = reseal(stream[3], { prev_hash: third.hash });
    expect((await s.ingest({ device_id: 'counter-01', items: [fourth] }, new Date())).ok).toBe(true);

    const { ratings } = await s.listRatings({});
    const expected = [...items, fourth].map((r) =>
      new Date(hubAt.getTime() + (r.mono_ms - 200_000)).toISOString(),
    );
    expect(ratings.map((r) => r.corrected_at)).toEqual(expected);
    expect(ratings.map((r) => r.hub_signals)).toEqual([undefined, undefined, ['before_accept'], undefined]);
    const stats = await s.statsCounts('2026-11-01', '2026-11-30');
    expect(stats.filter((r) => r.flagged).reduce((n, r) => n + r.count, 0)).toBe(1);
  });

  it('commands go to known terminals only, and each is delivered once even to concurrent heartbeats', async () => {
    const url = await freshPgUrl();
    const [a, b] = [await store(url), await store(url)];
    expect(await a.fleet.queueCommand('nobody', { type: 'resend_config' }, new Date())).toBeNull();
    await a.fleet.heartbeat(heartbeat({}), new Date('2026-11-27T03:00:00Z'));
    const queued = [];
    for (let i = 0; i < 5; i++)
      queued.push(await a.fleet.queueCommand('counter-01', { type: 'rewind', to_seq: i }, new Date()));
    expect(queued.every((q) => q !== null && q.delivered_at === null)).toBe(true);
    expect((await a.fleet.terminals())[0]).toMatchObject({
      device_id: 'counter-01',
      hall_id: 'H1',
      window_id: 'W07',
      enrolled: false,
      pending_commands: 5,
      hub_seq: 0,
      last_upload_at: null,
    });
    const at = new Date('2026-11-27T03:00:30Z');
    const [x, y] = await Promise.all([
      a.fleet.heartbeat(heartbeat({}), at),
      b.fleet.heartbeat(heartbeat({}), at),
    ]);
    const delivered = [...x, ...y];
    expect(delivered.map((c) => c.id)).toEqual(queued.map((q) => q?.id));
    expect(delivered.map((c) => (c.type === 'rewind' ? c.to_seq : -1))).toEqual([0, 1, 2, 3, 4]);
    expect((await a.fleet.commands('counter-01')).map((c) => c.delivered_at)).toEqual(
      Array(5).fill(at.toISOString()),
    );
    expect((await b.fleet.terminals())[0]?.heartbeat?.clock_offset_ms).toBe(
      Date.parse('2026-11-27T03:00:05.000Z') - at.getTime(),
    );
  });
});

describe('an unreachable database', () => {
  let t: TestHub | undefined;
  let proxy: Server | undefined;
  const sockets = new Set<Socket>();
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
    for (const sock of sockets) sock.destroy();
    await new Promise<void>((resolve) => (proxy?.listening ? proxy.close(() => resolve()) : resolve()));
  });

  /** A loopback TCP relay to the cluster, so the test can pull the plug on the hub's connections. */
  async function relay(): Promise<{ url: (schemaUrl: string) => string; cut(): Promise<void> }> {
    const target = new URL(pgBaseUrl());
    proxy = createServer((client) => {
      const server = new Socket();
      sockets.add(client).add(server);
      server.connect(Number(target.port), target.hostname);
      client.pipe(server).pipe(client);
      const end = () => {
        client.destroy();
        server.destroy();
      };
      client.on('error', end).on('close', end);
      server.on('error', end).on('close', end);
    });
    await new Promise<void>((resolve) => proxy?.listen(0, '127.0.0.1', resolve));
    const address = proxy.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    return {
      url: (schemaUrl) => schemaUrl.replace(`:${target.port}/`, `:${port}/`),
      cut: async () => {
        // close() waits for open connections to end: destroy them as it stops listening.
        const closed = new Promise<void>((resolve) => proxy?.close(() => resolve()));
        for (const sock of sockets) sock.destroy();
        await closed;
      },
    };
  }

  it('answers 503 STORE_UNAVAILABLE (nothing stored), and the counter retry succeeds once it is back', async () => {
    const direct = await freshPgUrl();
    const r = await relay();
    t = await openTestHub({ db: r.url(direct) });
    const stream = makeStream({ count: 3 });
    expect((await t.post(batchOf(stream, 1, 1))).status).toBe(200);
    await r.cut();

    const res = await t.post(batchOf(stream, 2, 3));
    expect(res.status).toBe(503);
    expect(asError(res).code).toBe('STORE_UNAVAILABLE');
    const health = await t.get('/healthz');
    expect(health.status).toBe(503);

    const check = new pg.Client({ connectionString: direct });
    await check.connect();
    try {
      const { rows } = await check.query('SELECT count(*)::int AS n FROM ratings');
      expect(rows[0].n).toBe(1);
    } finally {
      await check.end();
    }
  });

  it('a hub started on an unreachable database fails at once with StoreUnavailableError', async () => {
    const dir = await makeTempDir();
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const address = s.address();
        s.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    await expect(
      openStore({ dataDir: dir, db: `postgres://postgres@127.0.0.1:${closed}/nope` }),
    ).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});

/** A record's body with another prev_hash or texts, sealed again (a valid record of its own). */
function reseal(record: AnyRatingRecord | undefined, change: Partial<AnyRatingRecord>): AnyRatingRecord {
  if (!record) throw new Error('record');
  const { hash: _h, ...body } = record;
  return seal({ ...body, ...change } as Omit<AnyRatingRecord, 'hash'>) as AnyRatingRecord;
}
