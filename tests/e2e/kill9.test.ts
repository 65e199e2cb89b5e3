import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src-main/core/audit/audit-log.ts';
import { CounterStore, rowToRecord } from '../../src-main/core/store/counter-store.ts';
import { verifyRatingChain } from '../core/store-fixtures.ts';

/**
 * 200 real processes committing ratings into real files, each SIGKILLed at a random point (most
 * while committing, some while still opening or migrating the store). After every kill the store
 * is reopened as a restarted counter would: every rating that was reported (printed after its
 * commit returned) is there with the hash that was reported, seq is gap-free, both chains verify,
 * no pad press became two ratings, and every transaction is whole (rating, press row, audit entry).
 *
 * Cost is process starts (about 0.3 s of CPU each: node, zod, the store): about 40 s on two idle
 * cores, several minutes on a loaded machine, hence the long timeout.
 */

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const LANES = 4;
const RUNS_PER_LANE = Number(process.env.HAOCHA_KILL9_RUNS_PER_LANE ?? 50);

let work: string;
let driver: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'haocha-kill9-'));
  // One bundle of the driver (the store's real code) so each of the 200 starts is fast; it sits
  // under node_modules so its one external, better-sqlite3, resolves as in the app.
  const cache = join(REPO, 'node_modules', '.cache', `haocha-kill9-${process.pid}`);
  mkdirSync(cache, { recursive: true });
  driver = join(cache, 'driver.mjs');
  await build({
    entryPoints: [join(REPO, 'tests/e2e/kill9-driver.ts')],
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: driver,
    external: ['better-sqlite3'],
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: 'silent',
  });
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(join(driver, '..'), { recursive: true, force: true });
});

interface RunResult {
  lines: string[];
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Starts the driver and kills it -9 `delayMs` after it has reported `afterLines` commits (0: after
 * READY), or after spawn when `early`. Counting lines keeps the number of commits per run
 * independent of how loaded the machine is; the delay puts the kill anywhere in a commit.
 */
function runOnce(
  db: string,
  firstPress: number,
  seed: number,
  delayMs: number,
  early: boolean,
  afterLines: number,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [driver, db, String(firstPress), String(seed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let armed = false;
    const arm = () => {
      if (armed) return;
      armed = true;
      setTimeout(() => child.kill('SIGKILL'), delayMs);
    };
    if (early) arm();
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.startsWith('READY') && out.split('\n').length - 2 >= afterLines) arm();
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(guard);
      // Only whole lines were reported; a line cut by the kill never reached anyone.
      const whole = out.slice(0, out.lastIndexOf('\n') + 1);
      resolve({ lines: whole.split('\n').filter(Boolean), signal, stderr: err });
    });
  });
}

interface Reported {
  ratings: Map<number, string>;
  presses: Map<number, { outcome: number; seq: number | null }>;
  nextPress: number;
}

function absorb(rep: Reported, lines: string[]): string[] {
  const problems: string[] = [];
  for (const line of lines) {
    const f = line.split(' ');
    if (f[0] === 'R') rep.ratings.set(Number(f[1]), f[2] as string);
    if (f[0] === 'P') {
      const id = Number(f[1]);
      const outcome = Number(f[2]);
      const seq = f[3] === '-' ? null : Number(f[3]);
      if (rep.presses.has(id)) problems.push(`press ${id} reported twice`);
      rep.presses.set(id, { outcome, seq });
      if (seq !== null) rep.ratings.set(seq, f[4] as string);
      rep.nextPress = Math.max(rep.nextPress, id + 1);
    }
  }
  return problems;
}

/** Reopens the store as a restarted counter and lists every way it disagrees with what was reported. */
function check(db: string, rep: Reported): { problems: string[]; rows: number } {
  const problems: string[] = [];
  const store = new CounterStore(db);
  try {
    if (store.report.integrity !== 'ok') problems.push(`store reported ${store.report.integrity}`);
    const quick = store.db.pragma('quick_check', { simple: true });
    if (quick !== 'ok') problems.push(`quick_check: ${quick}`);
    const chain = verifyRatingChain(store.db, (r) => rowToRecord(r, store.deviceId));
    if (!chain.ok) problems.push(`rating chain: ${chain.problem}`);
    const lastSeq = store.queueStats().last_seq;
    if (chain.rows !== lastSeq) problems.push(`${chain.rows} rows for last seq ${lastSeq}`);

    const stored = new Map(
      (store.db.prepare('SELECT seq, hash FROM ratings').all() as { seq: number; hash: string }[]).map(
        (r) => [r.seq, r.hash],
      ),
    );
    for (const [seq, hash] of rep.ratings) {
      const got = stored.get(seq);
      if (got === undefined) problems.push(`reported rating ${seq} is missing`);
      else if (got !== hash) problems.push(`rating ${seq} is not the one reported`);
    }

    const doubled = store.db
      .prepare(
        `SELECT pad_press_id AS id, COUNT(*) AS n FROM ratings WHERE pad_press_id IS NOT NULL
         GROUP BY pad_boot_id, pad_press_id HAVING COUNT(*) > 1`,
      )
      .all() as { id: number; n: number }[];
    for (const d of doubled) problems.push(`press ${d.id} became ${d.n} ratings`);

    const presses = new Map(
      (
        store.db
          .prepare(
            `SELECT p.press_id AS id, p.outcome, p.rating_seq AS seq, r.pad_press_id AS rated_press
             FROM pad_presses p LEFT JOIN ratings r ON r.seq = p.rating_seq`,
          )
          .all() as { id: number; outcome: number; seq: number | null; rated_press: number | null }[]
      ).map((p) => [p.id, p]),
    );
    for (const p of presses.values()) {
      if (p.outcome === 0 && (p.seq === null || p.rated_press !== p.id))
        problems.push(`press ${p.id} (a rating) does not point at its rating`);
      if (p.outcome === 1 && p.seq !== null) problems.push(`press ${p.id} (not a rating) points at a rating`);
    }
    for (const [id, r] of rep.presses) {
      const p = presses.get(id);
      if (!p) problems.push(`reported press ${id} is missing`);
      else {
        if (p.outcome !== r.outcome)
          problems.push(`press ${id}: outcome ${p.outcome}, reported ${r.outcome}`);
        if (r.seq !== null && p.seq !== r.seq)
          problems.push(`press ${id}: rating ${p.seq}, reported ${r.seq}`);
      }
    }

    // Whole transactions only: one audit entry per rating and per press that was not a rating.
    const audit = verifyAuditChain(store.db);
    if (!audit.ok) problems.push(`audit chain: ${audit.reason} at ${audit.broken_seq}`);
    const notRatings = (
      store.db.prepare('SELECT COUNT(*) AS n FROM pad_presses WHERE outcome = 1').get() as { n: number }
    ).n;
    if (audit.entries !== chain.rows + notRatings)
      problems.push(`${audit.entries} audit entries for ${chain.rows} ratings + ${notRatings} other presses`);
    const fk = store.db.pragma('foreign_key_check') as unknown[];
    if (fk.length > 0) problems.push(`${fk.length} broken foreign keys`);
    return { problems, rows: chain.rows };
  } finally {
    store.close();
  }
}

describe('kill -9 while committing', () => {
  it(`${LANES * RUNS_PER_LANE} kills: every reported rating survives once, chains intact, no press doubled`, async () => {
    let seed = 20261126;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 0x100000000;
    };
    const started = Date.now();
    const totals = { kills: 0, repeats: 0, reported: 0, rows: 0, early: 0, seconds: 0 };
    const lane = async (n: number) => {
      const db = join(work, `lane-${n}`, 'counter.db');
      const rep: Reported = { ratings: new Map(), presses: new Map(), nextPress: 1 };
      for (let run = 0; run < RUNS_PER_LANE; run++) {
        const early = rnd() < 0.15;
        const delay = early
          ? Math.floor(rnd() * 400)
          : rnd() < 0.5
            ? Math.floor(rnd() * 4)
            : Math.floor(rnd() * 40);
        const afterLines = early ? 0 : Math.floor(rnd() * 40);
        const result = await runOnce(
          db,
          rep.nextPress,
          Math.floor(rnd() * 2 ** 31) + 1,
          delay,
          early,
          afterLines,
        );
        if (result.signal !== 'SIGKILL')
          throw new Error(`lane ${n} run ${run}: driver ended without the kill: ${result.stderr}`);
        totals.kills++;
        if (early && !result.lines[0]?.startsWith('READY')) totals.early++;
        totals.repeats += result.lines.filter((l) => l.startsWith('P ') && l.endsWith(' 1')).length;
        const problems = absorb(rep, result.lines);
        const verdict = check(db, rep);
        problems.push(...verdict.problems);
        expect(problems, `lane ${n}, after kill ${run + 1}`).toEqual([]);
        totals.rows = Math.max(totals.rows, verdict.rows);
      }
      totals.reported += rep.ratings.size;
    };
    await Promise.all(Array.from({ length: LANES }, (_, i) => lane(i)));
    expect(totals.kills).toBe(LANES * RUNS_PER_LANE);
    // The run did what it claims: runs commit ~20 ratings on average before their kill, so
    // thousands were reported and had to survive (repeats and kills before the store opened are
    // counted, not demanded: they depend on timing).
    expect(totals.reported).toBeGreaterThan(LANES * RUNS_PER_LANE * 10);
    totals.seconds = Math.round((Date.now() - started) / 1000);
    console.log(`kill9: ${JSON.stringify(totals)}`);
  }, 600_000);
});
