import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN_FILE, startHub } from '../../hub/server.ts';
import { type CounterConfig, defaultCounterConfig } from '../../src-main/core/config.ts';
import { Counter } from '../../src-main/core/counter.ts';
import { FileKeyStore } from '../../src-main/core/device-key.ts';
import { enroll } from '../../src-main/core/enrollment.ts';
import { CounterStore } from '../../src-main/core/store/counter-store.ts';
import { HUB_API } from '../../src-shared/index.ts';
import { type FaultAction, FaultProxy } from '../helpers/fault-proxy.ts';
import { compare, freePort, hubExport, testTmp, until, verifyHubChain } from './harness.ts';

/**
 * Model-based: a real Counter (real store file, its SyncLoop) ⇄ the fault proxy ⇄ a real hub
 * (real SQLite dir), driven by random command sequences: commits, per-upload faults (lost request,
 * lost answer after the hub committed, duplicates replayed late so an older batch lands after a
 * newer one, stalls, byte-at-a-time links, dropped requests), network blips, hub restarts and
 * counter restarts. The model is only the number of ratings committed; the property is the one the
 * hall needs: once the channel heals and the queue drains, the hub holds exactly the counter's
 * ratings, each once, and the device's chain verifies.
 *
 * HAOCHA_SYNC_SEED / HAOCHA_SYNC_RUNS replay or widen a run.
 */

/** Figures over all runs, printed at the end (what the faults really hit). */
const totals = {
  runs: 0,
  signedRuns: 0,
  ratings: 0,
  commands: 0,
  uploads: 0,
  faults: {} as Record<string, number>,
  dupAnswers: 0,
  /** Answers to replayed duplicates by HTTP status (signed runs: a replayed nonce is refused). */
  dupStatus: {} as Record<string, number>,
  ms: 0,
};
afterAll(() => {
  console.log(`faulty-channel: ${JSON.stringify(totals)}`);
});

const RUNS = Number(process.env.HAOCHA_SYNC_RUNS ?? 20);
const SEED = process.env.HAOCHA_SYNC_SEED ? Number(process.env.HAOCHA_SYNC_SEED) : undefined;

function fastConfig(): CounterConfig {
  const c = defaultCounterConfig();
  return { ...c, sync: { interval_ms: 50, batch_size: 5, backoff_min_ms: 10, backoff_max_ms: 100 } };
}

interface Model {
  committed: number;
}

class Real {
  hub!: { url: string; close(): Promise<void> };
  counter!: Counter;
  proxy!: FaultProxy;
  hubPort = 0;
  readonly dir = mkdtempSync(join(testTmp(), 'haocha-faulty-'));
  readonly hubDir = join(this.dir, 'hub');
  readonly counterDir = join(this.dir, 'counter');
  /** Set if the sync loop ever stopped on a rejection: that would be the counter giving up. */
  rejected: string | null = null;

  /** Signed: the hub requires signatures and the counter is enrolled (every upload signed, nonces checked). */
  constructor(readonly signed: boolean) {}

  async setUp(): Promise<void> {
    this.hubPort = await freePort();
    await this.startHub();
    this.proxy = await FaultProxy.start({ upstreamPort: this.hubPort });
    if (this.signed) await this.enroll();
    this.openCounter();
  }

  private async enroll(): Promise<void> {
    mkdirSync(this.counterDir, { recursive: true });
    const store = new CounterStore(join(this.counterDir, 'counter.db'));
    const deviceId = store.deviceId;
    store.close();
    const admin = readFileSync(join(this.hubDir, ADMIN_TOKEN_FILE), 'utf8').trim();
    const res = await fetch(`${this.hub.url}${HUB_API}/admin/enrollment-tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ hall_id: 'DIV9-T12', window_id: 'W01' }),
    });
    const { token } = (await res.json()) as { token: string };
    await enroll({
      dataDir: this.counterDir,
      hubUrl: this.hub.url,
      token,
      deviceId,
      appVersion: '0.1.0',
      keyStore: new FileKeyStore(this.counterDir),
    });
  }

  async startHub(): Promise<void> {
    // The port was just released by the previous hub: retry briefly if the bind races.
    for (let i = 0; ; i++) {
      try {
        this.hub = await startHub({
          dataDir: this.hubDir,
          port: this.hubPort,
          logger: false,
          requireSignatures: this.signed,
        });
        return;
      } catch (e) {
        if (i > 20) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  openCounter(): void {
    this.counter = new Counter({ dataDir: this.counterDir, hubUrl: this.proxy.url, config: fastConfig() });
    this.counter.on('sync', (v) => {
      if (v.hub === 'rejected') this.rejected ??= v.last_error;
    });
    this.counter.start();
  }

  async tearDown(): Promise<void> {
    await this.counter?.close();
    await this.proxy?.close();
    await this.hub?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

type Cmd = fc.AsyncCommand<Model, Real>;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class Commit implements Cmd {
  constructor(readonly n: number) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    for (let i = 0; i < this.n; i++) {
      r.counter.openRating(null);
      r.counter.submitScreenRating({ level: ((i % 5) + 1) as 1, reason_timed_out: true });
    }
    m.committed += this.n;
    expect(r.counter.store.queueStats().last_seq).toBe(m.committed);
  }
  toString = () => `commit(${this.n})`;
}

/** Faults for the next uploads, then ratings to upload through them (until taken, or one is held). */
class Fault implements Cmd {
  constructor(
    readonly actions: FaultAction[],
    readonly n: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    r.proxy.enqueue(...this.actions);
    await new Commit(this.n).run(m, r);
    await until(() => r.proxy.queued === 0 || r.proxy.heldCount > 0, 3000, 'faults taken').catch(() => {});
  }
  toString = () => `fault(${this.actions.map((a) => JSON.stringify(a)).join(',')}; commit ${this.n})`;
}

/** Two uploads racing: the next batch is replayed late, after newer ones went through. */
class Reorder implements Cmd {
  constructor(
    readonly n: number,
    readonly delayMs: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    r.proxy.enqueue({ kind: 'duplicate', delayMs: this.delayMs });
    await new Commit(this.n).run(m, r);
    await sleep(this.delayMs + 50);
  }
  toString = () => `reorder(${this.n}, ${this.delayMs}ms)`;
}

class Wait implements Cmd {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(): Promise<void> {
    await sleep(this.ms);
  }
  toString = () => `wait(${this.ms})`;
}

/** Held (dropped or stalled) uploads are reset, as a client timeout would. */
class Release implements Cmd {
  check = () => true;
  async run(_m: Model, r: Real): Promise<void> {
    r.proxy.release();
  }
  toString = () => 'release';
}

class Blip implements Cmd {
  check = () => true;
  async run(_m: Model, r: Real): Promise<void> {
    r.proxy.resetAll();
  }
  toString = () => 'blip';
}

class HubRestart implements Cmd {
  constructor(readonly downMs: number) {}
  check = () => true;
  async run(_m: Model, r: Real): Promise<void> {
    await r.hub.close();
    await sleep(this.downMs);
    await r.startHub();
  }
  toString = () => `hubRestart(${this.downMs}ms)`;
}

class CounterRestart implements Cmd {
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    await r.counter.close();
    r.openCounter();
    expect(r.counter.store.queueStats().last_seq).toBe(m.committed);
  }
  toString = () => 'counterRestart';
}

const faultAction: fc.Arbitrary<FaultAction> = fc.oneof(
  fc.constant<FaultAction>({ kind: 'reset_before' }),
  fc.constant<FaultAction>({ kind: 'lose_response' }),
  fc.constant<FaultAction>({ kind: 'drop' }),
  fc.integer({ min: 0, max: 150 }).map<FaultAction>((ms) => ({ kind: 'stall', ms })),
  fc.constant<FaultAction>({ kind: 'trickle', delayMs: 0 }),
  fc.integer({ min: 0, max: 200 }).map<FaultAction>((delayMs) => ({ kind: 'duplicate', delayMs })),
);

const commands = fc.commands(
  [
    fc.integer({ min: 1, max: 12 }).map((n) => new Commit(n)),
    fc
      .tuple(fc.array(faultAction, { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 8 }))
      .map(([a, n]) => new Fault(a, n)),
    fc
      .tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 50, max: 200 }))
      .map(([n, d]) => new Reorder(n, d)),
    fc.integer({ min: 0, max: 150 }).map((ms) => new Wait(ms)),
    fc.constant(new Blip()),
    fc.constant(new Release()),
    fc.integer({ min: 0, max: 100 }).map((ms) => new HubRestart(ms)),
    fc.constant(new CounterRestart()),
  ],
  { maxCommands: 16, size: 'max' },
);

describe('exactly-once delivery over a faulty channel', () => {
  it(
    'after healing, the hub holds exactly the counter’s ratings, each once, chain intact',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          commands,
          fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          fc.boolean(),
          async (cmds, policySeed, signed) => {
            const real = new Real(signed);
            const t0 = Date.now();
            try {
              await real.setUp();
              // Between the scripted faults, background noise on a third of the uploads, by seed.
              real.proxy.random({
                seed: policySeed,
                weights: {
                  pass: 8,
                  reset_before: 1,
                  lose_response: 1,
                  duplicate: 1,
                  stall: 0.5,
                  trickle: 0.5,
                },
                maxStallMs: 100,
                maxDuplicateDelayMs: 200,
              });
              const model: Model = { committed: 0 };
              await fc.asyncModelRun(() => ({ model, real }), cmds);
              // Heal: a clean channel, then wait for the queue to drain and every late replay to land.
              real.proxy.heal();
              await until(() => real.counter.store.queueStats().queue_depth === 0, 20_000, 'queue drained');
              await real.proxy.settled();
              expect(real.rejected).toBeNull();
              const deviceId = real.counter.store.deviceId;
              const mine = real.counter.store.db
                .prepare('SELECT seq, event_id FROM ratings ORDER BY seq')
                .all() as {
                seq: number;
                event_id: string;
              }[];
              expect(mine).toHaveLength(model.committed);
              await real.hub.close();
              const hub = await hubExport(real.hubDir);
              expect(compare(mine, hub.rows, deviceId)).toEqual({ lost: 0, duplicated: 0, foreign: 0 });
              expect(hub.rows).toHaveLength(model.committed);
              expect(verifyHubChain(hub.records, deviceId)).toBeNull();
              totals.runs++;
              if (signed) totals.signedRuns++;
              totals.ratings += model.committed;
              totals.commands += [...cmds].length;
              totals.uploads += real.proxy.stats.requests;
              for (const [k, v] of Object.entries(real.proxy.stats.byKind))
                totals.faults[k] = (totals.faults[k] ?? 0) + v;
              totals.dupAnswers += Object.values(real.proxy.stats.duplicateAnswers).reduce(
                (a, b) => a + b,
                0,
              );
              for (const [st, n] of Object.entries(real.proxy.stats.duplicateAnswers)) {
                const k = `${signed ? 'signed' : 'plain'}:${st}`;
                totals.dupStatus[k] = (totals.dupStatus[k] ?? 0) + n;
              }
              // Restart the hub so tearDown closes something live.
              await real.startHub();
            } finally {
              await real.tearDown();
              totals.ms += Date.now() - t0;
            }
          },
        ),
        { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
      );
    },
    60_000 + RUNS * 10_000,
  );
});
