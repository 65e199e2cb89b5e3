/**
 * Fleet load: N simulated counters (default 2,000) against one hub on this machine, each enrolled
 * with its own Ed25519 key, uploading signed gzip batches of steady ratings on its own schedule,
 * one request in flight per counter (as the real SyncLoop), plus a heartbeat every 30 s where the
 * hub has the heartbeat route. Targets (issue 6): ack p99 < 100 ms and ≥ 20,000 ratings/s
 * sustained, on SQLite and on PostgreSQL (`--db postgres://…`). Beside the absolute figures it
 * prints the hub store's own batch-insert ceiling measured in the same run, since this machine's
 * speed varies with its load.
 *
 *   node --import tsx bench/fleet-load.ts [--counters 2000] [--rate 20000] [--seconds 30]
 *     [--interval 5] [--db postgres|postgres://…] [--store keep|discard]
 *
 * `--store discard` answers every upload `stored` and throws it away (bench/lib/discard-ratings.ts):
 * the hub's cost apart from its store's writes, the floor under the goals on this machine.
 *
 * Latency is measured from each request's scheduled time (open loop), so a hub that falls behind
 * shows its queueing instead of hiding it (no coordinated omission).
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, Pool, fetch as undiciFetch } from 'undici';
import { v7 as uuidv7 } from 'uuid';
import { ADMIN_TOKEN_FILE } from '../hub/server.ts';
import { openStore } from '../hub/store/open.ts';
import { CounterStore } from '../src-main/core/store/counter-store.ts';
import { cutBatch } from '../src-main/core/sync.ts';
import {
  chainInput,
  GENESIS_HASH,
  type HeartbeatRequest,
  HUB_API,
  type RatingRecord,
} from '../src-shared/index.ts';
import { loadOrCreateSecret } from '../src-shared/secret-file.ts';
import { exportPublicKey, signRequest } from '../src-shared/signing.ts';
import { given, ratingCtx } from '../tests/core/store-fixtures.ts';
import { benchDb } from './lib/bench-db.ts';
import { type CpuSnapshot, cpuSnapshot, describeCpu } from './lib/cpu-accounting.ts';
import { quantile } from './lib/quantile.ts';
import { spawnHub } from './lib/spawn-hub.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const COUNTERS = Number(arg('counters') ?? 2000);
const RATE = Number(arg('rate') ?? 20_000);
const SECONDS = Number(arg('seconds') ?? 30);
const INTERVAL_S = Number(arg('interval') ?? 5);
const DB_ARG = arg('db');
const STORE = arg('store') ?? 'keep';
if (STORE !== 'keep' && STORE !== 'discard') throw new RangeError(`--store keep|discard, got ${STORE}`);
const DISCARD = STORE === 'discard';
const HEARTBEAT_S = 30;

const work = mkdtempSync(join(tmpdir(), 'haocha-bench-fleet-'));
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

interface Device {
  id: string;
  key: KeyObject;
  batches: Buffer[];
  window: string;
  bootId: string;
  /** ms after the start of the run of each batch, and of each heartbeat. */
  phaseMs: number;
  /** This counter's own connections to the hub (set once enrolled). */
  pool?: Pool;
  last: { seq: number; hash: string };
}

/** A record the counter's own commit path made, used as the template of every simulated rating. */
function template(): RatingRecord {
  const store = new CounterStore(join(work, 'template.sqlite'));
  const r = store.commitRating(given(5), ratingCtx());
  store.close();
  return r;
}

function makeRecords(dev: Device, n: number, base: RatingRecord, start: number): RatingRecord[] {
  const out: RatingRecord[] = [];
  let { seq, hash } = dev.last;
  for (let i = 0; i < n; i++) {
    seq += 1;
    const at = new Date(start + i).toISOString();
    const body = {
      ...base,
      event_id: uuidv7(),
      device_id: dev.id,
      seq,
      // 3–5 only: a 差评 (1–2) needs a reason, which is not what this load is about.
      level: (3 + (seq % 3)) as RatingRecord['level'],
      reasons: [],
      reason_status: 'not_required',
      case_ref: `C-${dev.id.slice(-6)}-${seq}`,
      opened_at: at,
      rated_at: at,
      mono_ms: seq * 1000,
      // The heartbeat's boot: the hub then corrects each rating's time from its anchors, as it
      // does for real counters (one more write per rating).
      app_boot_id: dev.bootId,
      prev_hash: hash,
    } as Omit<RatingRecord, 'hash'>;
    hash = sha256(chainInput(body));
    out.push({ ...body, hash } as RatingRecord);
  }
  dev.last = { seq, hash };
  return out;
}

/** Enrollment and set-up only: the load itself goes over each counter's own pool. */
const agent = new Agent({ connections: 64, pipelining: 1, keepAliveTimeout: 60_000 });

async function post(url: string, body: Buffer, headers: Record<string, string>) {
  const res = await undiciFetch(url, { method: 'POST', body, headers, dispatcher: agent });
  const text = await res.text();
  return { status: res.status, text };
}

/**
 * Each counter is its own machine with its own connections: two here (its one upload at a time
 * and its heartbeat), kept alive between requests as the hub's Keep-Alive hint (72 s) lets a
 * counter's fetch keep them. One pool shared by the whole fleet would instead queue every
 * counter's requests behind one another, and open new connections whenever all were busy,
 * which no fleet does: those new connections waited seconds in the hub's accept queue.
 */
function counterPool(origin: string): Pool {
  return new Pool(origin, { connections: 2, pipelining: 1, keepAliveTimeout: 60_000 });
}

async function send(pool: Pool, path: string, body: Buffer, headers: Record<string, string>) {
  const res = await pool.request({ path, method: 'POST', body, headers });
  const text = await res.body.text();
  return { status: res.statusCode, text };
}

async function main() {
  const engine = await benchDb(DB_ARG);
  const hub = await spawnHub(join(work, 'hub'), engine.database('haocha_fleet'), { discardRatings: DISCARD });
  const admin = loadOrCreateSecret(join(work, 'hub'), ADMIN_TOKEN_FILE).token;
  const base = template();

  console.log(`enrolling ${COUNTERS} counters…`);
  const devices: Device[] = [];
  for (let d = 0; d < COUNTERS; d++) {
    const window = `W${String(d).padStart(4, '0')}`;
    const tok = await post(
      `${hub.url}${HUB_API}/admin/enrollment-tokens`,
      Buffer.from(JSON.stringify({ hall_id: 'DIV9-MAIN', window_id: window })),
      { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    );
    if (tok.status !== 201) throw new Error(`token: ${tok.status} ${tok.text}`);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const id = `ctr-bench-${String(d).padStart(5, '0')}`;
    const en = await post(
      `${hub.url}${HUB_API}/enroll`,
      Buffer.from(
        JSON.stringify({
          token: (JSON.parse(tok.text) as { token: string }).token,
          device_id: id,
          public_key: exportPublicKey(publicKey),
          app_version: 'bench',
        }),
      ),
      { 'content-type': 'application/json' },
    );
    if (en.status !== 200 && en.status !== 201) throw new Error(`enroll: ${en.status} ${en.text}`);
    devices.push({
      id,
      key: privateKey,
      window,
      bootId: uuidv7(),
      batches: [],
      phaseMs: Math.random() * INTERVAL_S * 1000,
      last: { seq: 0, hash: GENESIS_HASH },
    });
  }

  const perBatch = Math.max(1, Math.round((RATE / COUNTERS) * INTERVAL_S));
  const batchesEach = Math.max(1, Math.floor(SECONDS / INTERVAL_S));
  const total = perBatch * batchesEach * COUNTERS;
  console.log(
    `preparing ${total} ratings: ${batchesEach} batches of ${perBatch} per counter, every ${INTERVAL_S} s (gzip, as the counter sends them)…`,
  );
  let gzBytes = 0;
  const t0 = Date.now();
  for (const dev of devices) {
    for (let b = 0; b < batchesEach; b++) {
      const items = makeRecords(dev, perBatch, base, t0 + b * 1000);
      // The counter's own layout (one record a line, src-main/core/sync.ts cutBatch).
      const { body: gz } = cutBatch(
        dev.id,
        items.map((r) => Buffer.from(JSON.stringify(r))),
        { maxBytes: 1 << 20, maxItems: items.length, maxRawBytes: 1 << 22 },
      );
      gzBytes += gz.length;
      dev.batches.push(gz);
    }
  }
  console.log(
    `  ${(gzBytes / 1024 / 1024).toFixed(1)} MiB gzip, ${Math.round(gzBytes / total)} B per rating`,
  );

  const latencies: number[] = [];
  /** Of each acked batch's latency: the round trip of its last attempt alone (sent to answered). */
  const roundTrips: number[] = [];

  /** When each acked batch was due (ms from the start), beside its latency: the p99 by window. */

  const dueTimes: number[] = [];
  const heartbeatLatencies: number[] = [];
  let stored = 0;
  let failures = 0;
  const failureCodes = new Map<string, number>();
  const heartbeatPath = `${HUB_API}/heartbeat`;
  const probe = await undiciFetch(`${hub.url}${heartbeatPath}`, { method: 'POST', dispatcher: agent });
  await probe.text();
  const heartbeatRoute = probe.status !== 404;
  const sendHeartbeat = async (dev: Device) => {
    const body = Buffer.from(JSON.stringify(heartbeat(dev, dev.window)));
    const headers = await signRequest(
      {
        method: 'POST',
        url: `${hub.url}${heartbeatPath}`,
        body,
        headers: { 'content-type': 'application/json' },
      },
      { deviceId: dev.id, privateKey: dev.key },
    );
    return send(dev.pool as Pool, heartbeatPath, body, headers);
  };

  // The fleet was running before the measured window: each counter has its connections open
  // (its heartbeats keep them), and the hub has its clock anchors from a heartbeat within the last
  // 30 s, so its ratings are time-corrected as they are stored. Each counter sends that heartbeat
  // now, with a probe beside it to open its second connection. Not measured; the time is printed.
  console.log("opening each counter's connections, with a first heartbeat…");
  const warmStart = performance.now();
  await Promise.all(
    devices.map(async (dev) => {
      dev.pool = counterPool(hub.url);
      const pool = dev.pool;
      const openOne = async () => {
        const res = await pool.request({ path: '/healthz', method: 'GET' });
        await res.body.text();
      };
      const firstHeartbeat = async () => {
        if (!heartbeatRoute) return openOne();
        const res = await sendHeartbeat(dev);
        if (res.status !== 200) throw new Error(`first heartbeat: ${res.status} ${res.text}`);
      };
      await Promise.all([firstHeartbeat(), openOne()]);
    }),
  );
  console.log(
    `  ${devices.length * 2} connections open in ${((performance.now() - warmStart) / 1000).toFixed(1)} s`,
  );

  const ingestUrl = `${hub.url}${HUB_API}/ingest`;
  const signUpload = (dev: Device, body: Buffer, at?: Date) =>
    signRequest(
      {
        method: 'POST',
        url: ingestUrl,
        body,
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      },
      { deviceId: dev.id, privateKey: dev.key },
      at,
    );
  // Each upload's first signature is made before the measured window, as its records, hashes and
  // gzip are: a counter signs on its own machine, and here the signing would take the hub's cores.
  // Signed for its due time as planned now (the seconds this signing takes early, well inside the
  // hub's ±300 s window); a run too long for that window signs as it sends.
  const presign = SECONDS <= 240;
  const firstSignatures = new Map<Device, Record<string, string>[]>();
  if (presign) {
    const plannedStart = Date.now() + 1000;
    for (const dev of devices) {
      const signed: Record<string, string>[] = [];
      for (let b = 0; b < dev.batches.length; b++) {
        const dueWall = plannedStart + dev.phaseMs + b * INTERVAL_S * 1000;
        signed.push(await signUpload(dev, dev.batches[b] as Buffer, new Date(dueWall)));
      }
      firstSignatures.set(dev, signed);
    }
  }

  const start = performance.now() + 1000;
  let lastAck = start;
  /** The latest due time of any batch (the end of the offered schedule). */
  let lastDue = start;
  const runDevice = async (dev: Device) => {
    for (let b = 0; b < dev.batches.length; b++) {
      const due = start + dev.phaseMs + b * INTERVAL_S * 1000;
      lastDue = Math.max(lastDue, due);
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const body = dev.batches[b] as Buffer;
      // One uploader per counter: a failed batch is retried (as SyncLoop would), not skipped;
      // a retry signs again (its nonce is spent).
      for (let attempt = 0; ; attempt++) {
        const headers =
          (attempt === 0 ? firstSignatures.get(dev)?.[b] : undefined) ?? (await signUpload(dev, body));
        const sent = performance.now();
        const res = await send(dev.pool as Pool, `${HUB_API}/ingest`, body, headers);
        if (res.status === 200) {
          roundTrips.push(performance.now() - sent);
          const reply = JSON.parse(res.text) as { items: { status: string }[] };
          stored += reply.items.filter((i) => i.status === 'stored').length;
          const now = performance.now();
          latencies.push(now - due);
          dueTimes.push(due - start);
          lastAck = Math.max(lastAck, now);
          break;
        }
        failures++;
        const code = `${res.status} ${(JSON.parse(res.text) as { code?: string }).code ?? ''}`;
        failureCodes.set(code, (failureCodes.get(code) ?? 0) + 1);
        if (attempt === 20)
          console.log(`  ${dev.id} still refused after 20 attempts: ${res.status} ${res.text.slice(0, 200)}`);
        await new Promise((r) => setTimeout(r, 200 + Math.random() * 800 * 2 ** Math.min(attempt, 4)));
      }
    }
  };
  const runHeartbeats = async (dev: Device) => {
    if (!heartbeatRoute) return;
    for (let h = 0; h * HEARTBEAT_S < SECONDS; h++) {
      const due = start + ((dev.phaseMs * 7) % (HEARTBEAT_S * 1000)) + h * HEARTBEAT_S * 1000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const res = await sendHeartbeat(dev);
      if (res.status === 200) heartbeatLatencies.push(performance.now() - due);
      else {
        failures++;
        const code = `heartbeat ${res.status} ${res.text.slice(0, 120)}`;
        failureCodes.set(code, (failureCodes.get(code) ?? 0) + 1);
      }
    }
  };
  console.log(
    `running ${SECONDS} s of load${heartbeatRoute ? ' with heartbeats' : ' (this hub has no heartbeat route)'}…`,
  );
  // The machine's CPU from the first due time to the last upload's ack (cpu-accounting.ts).
  let cpuFrom: CpuSnapshot | null = null;
  const pid = hub.proc.pid ?? -1;
  setTimeout(() => (cpuFrom = cpuSnapshot(pid)), Math.max(0, start - performance.now()));
  const heartbeats = Promise.all(devices.map(runHeartbeats));
  await Promise.all(devices.map(runDevice));
  const cpuTo = cpuSnapshot(pid);
  await heartbeats;
  const seconds = (lastAck - start) / 1000;
  const rate = stored / seconds;
  const res = await undiciFetch(`${hub.url}/metrics`, { dispatcher: agent });
  const held = Number(/^haocha_hub_ratings (\d+)/m.exec(await res.text())?.[1] ?? -1);
  await Promise.all(devices.map((d) => d.pool?.close()));
  await hub.stop();
  await agent.close();

  // Ceiling of the same engine in the same run: the store's ingest with the same batches, no HTTP.
  const ceil = DISCARD
    ? Number.NaN
    : await ceiling(Math.min(200, devices.length), base, engine.database('haocha_ceiling'));
  // Discarded, the hub holds none: every rating must have been answered `stored` instead.
  const expectedHeld = DISCARD ? 0 : total;
  const allStored = held === expectedHeld && stored === total;
  engine.stop();

  const p50 = quantile(latencies, 0.5);
  const p99 = quantile(latencies, 0.99);
  console.log(
    `engine ${engine.label}${DISCARD ? ', ratings discarded (--store discard)' : ''}: ${stored} ratings ${DISCARD ? 'answered stored' : 'stored'} (hub holds ${held}, expected ${expectedHeld}) in ${seconds.toFixed(1)} s = ${Math.round(rate)}/s; ` +
      `ack p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms over ${latencies.length} batches; ` +
      `heartbeats ${heartbeatLatencies.length}, p99 ${quantile(heartbeatLatencies, 0.99).toFixed(1)} ms; failures ${failures} ${JSON.stringify(Object.fromEntries(failureCodes))}`,
  );
  console.log(
    `  round trip of the acked attempt alone: p50 ${quantile(roundTrips, 0.5).toFixed(1)} ms, p99 ${quantile(roundTrips, 0.99).toFixed(1)} ms, max ${Math.max(...roundTrips).toFixed(1)} ms`,
  );
  if (DISCARD)
    console.log(
      '  the hub wrote no rating: this is its cost apart from the store, the floor under the goals',
    );
  else
    console.log(
      `store ingest ceiling in the same run: ${Math.round(ceil)}/s; HTTP fleet rate = ${((rate / ceil) * 100).toFixed(0)} % of it`,
    );
  console.log(`  ${describeCpu(cpuFrom, cpuTo, stored)}`);
  // By window of due time: a hub that starts cold under the whole fleet shows its catch-up apart
  // from its steady state.
  const windowMs = 5000;
  const windows = new Map<number, number[]>();
  latencies.forEach((l, i) => {
    const w = Math.floor((dueTimes[i] ?? 0) / windowMs);
    const bucket = windows.get(w);
    if (bucket) bucket.push(l);
    else windows.set(w, [l]);
  });
  console.log(
    `  ack by due time (${windowMs / 1000} s windows): ` +
      [...windows.entries()]
        .sort(([a], [b]) => a - b)
        .map(
          ([w, ls]) =>
            `${(w * windowMs) / 1000}s p50 ${quantile(ls, 0.5).toFixed(0)} p99 ${quantile(ls, 0.99).toFixed(0)}`,
        )
        .join(' | '),
  );
  // Steady state: batches due after the first 10 s (2,000 counters starting at once on a cold
  // hub is reported above and in the whole-run p99, which the goal is judged on).
  const steady = latencies.filter((_, i) => (dueTimes[i] ?? 0) >= 10_000);
  const steadyP99 = quantile(steady, 0.99);
  const okLatency = p99 < 100;
  // Offered for SECONDS, acked over SECONDS plus the last batch's latency, so stored / time is a
  // little under the offered rate even for a hub that keeps pace. Sustaining the offered rate
  // means keeping pace: every rating stored, the last one acked within a second of its due time
  // (a hub even 5 % short of 20,000/s is 1.5 s behind by the end of 30 s).
  const offered = total / SECONDS;
  const lagMs = lastAck - lastDue;
  const keptPace = allStored && lagMs < 1000;
  const okRate = offered >= 20_000 && keptPace;
  console.log(`${okLatency ? 'PASS' : 'FAIL'}  ack p99 ${p99.toFixed(1)} ms (goal < 100 ms)`);
  if (steady.length > 0)
    console.log(
      `${steadyP99 < 100 ? 'pass' : 'fail'}  ack p99 ${steadyP99.toFixed(1)} ms in steady state (batches due after the first 10 s)`,
    );
  console.log(
    `${okRate ? 'PASS' : 'FAIL'}  ${Math.round(offered)} ratings/s offered, ${keptPace ? 'kept pace' : 'fell behind'}: last ack ${(lagMs / 1000).toFixed(2)} s after the last due time; ${Math.round(rate)}/s stored over the run (goal ≥ 20,000/s sustained)`,
  );
  if (!allStored)
    console.log(
      `FAIL  ${stored} of ${total} answered stored; the hub holds ${held}, expected ${expectedHeld}`,
    );
  process.exitCode = okLatency && okRate && allStored ? 0 : 1;
}

/** A heartbeat as a healthy counter sends it (typed by the contract, so it cannot drift from it). */
function heartbeat(dev: Device, window: string): HeartbeatRequest {
  return {
    device_id: dev.id,
    hall_id: 'DIV9-MAIN',
    window_id: window,
    sent_at: new Date().toISOString(),
    mono_ms: performance.now(),
    app_boot_id: dev.bootId,
    heartbeat_s: HEARTBEAT_S,
    queue_depth: 0,
    oldest_unsent_age_s: null,
    chain_head: { seq: dev.last.seq, hash: dev.last.hash },
    clock_offset_ms: 0,
    app_version: 'bench',
    config_version: 'embedded',
    pad: { link: 'up', alarm: null },
    store: { health: 'ok', message: null },
    session: { state: 'idle', staff_no: '090317' },
    upload: { hub: 'ok', halted: false, last_error: null },
    alarms: [],
  };
}

/** The store's ingest() with the same 50-record batches, no HTTP, devices of its own. */
async function ceiling(count: number, base: RatingRecord, db: string | undefined): Promise<number> {
  const store = await openStore({ dataDir: join(work, 'hub-ceiling'), db });
  let ms = 0;
  let n = 0;
  for (let d = 0; d < count; d++) {
    const dev: Device = {
      id: `ceil-${d}`,
      key: generateKeyPairSync('ed25519').privateKey,
      window: 'W0',
      bootId: uuidv7(),
      batches: [],
      phaseMs: 0,
      last: { seq: 0, hash: GENESIS_HASH },
    };
    for (let b = 0; b < 3; b++) {
      const items = makeRecords(dev, 50, base, Date.now());
      const t = performance.now();
      const out = await store.ingest({ device_id: dev.id, items }, new Date(), { hashesVerified: true });
      ms += performance.now() - t;
      if (!out.ok) throw new Error(out.rejection.message);
      n += out.stored;
    }
  }
  await store.close();
  return n / (ms / 1000);
}

try {
  await main();
} finally {
  rmSync(work, { recursive: true, force: true });
}
