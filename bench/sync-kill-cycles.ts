/**
 * Full-size SIGKILL cycles: 100 cycles over 100k ratings (counter and hub as processes, the fault
 * proxy between them). Prints lost/duplicated counts and the end-to-end rate; exits 1 on any loss or
 * duplicate. Sizes: HAOCHA_KILL_CYCLES, HAOCHA_KILL_RATINGS, HAOCHA_KILL_RATE, HAOCHA_KILL_SEED.
 *
 *   node --import tsx bench/sync-kill-cycles.ts
 */
import { runKillCycles } from '../tests/sync/kill-cycles.ts';

const cycles = Number(process.env.HAOCHA_KILL_CYCLES ?? 100);
const ratings = Number(process.env.HAOCHA_KILL_RATINGS ?? 100_000);
const rate = Number(process.env.HAOCHA_KILL_RATE ?? 2000);
const seed = Number(process.env.HAOCHA_KILL_SEED ?? Date.now() % 1_000_000);

console.log(`sync kill cycles: ${cycles} cycles, ${ratings} ratings, target ${rate}/s, seed ${seed}`);
// Baseline in the same run: the same processes and proxy, no kills, no faults, a tenth of the ratings.
const base = await runKillCycles({ cycles: 0, ratings: Math.ceil(ratings / 10), rate, seed, faults: false });
console.log(
  `baseline (no kills, no faults): ${base.committed} ratings in ${(base.durationMs / 1000).toFixed(1)} s = ${base.ratePerS}/s, lost ${base.lost}, duplicated ${base.duplicated}`,
);
const r = await runKillCycles({ cycles, ratings, rate, seed, log: (l) => console.log(l) });
console.log(JSON.stringify(r, null, 2));
console.log(
  `lost ${r.lost}, duplicated ${r.duplicated}, foreign ${r.foreign}, chain ${r.chain ?? 'ok'}; ` +
    `${r.committed} ratings in ${(r.durationMs / 1000).toFixed(1)} s = ${r.ratePerS}/s end to end, ` +
    `${r.counterKills} counter kills (${r.earlyKills} while opening), ${r.hubKills} hub kills, ${r.uploads} uploads; ` +
    `${(r.ratePerS / Math.max(1, base.ratePerS)).toFixed(2)}× the baseline rate`,
);
process.exitCode =
  base.lost + base.duplicated === 0 &&
  r.lost === 0 &&
  r.duplicated === 0 &&
  r.foreign === 0 &&
  r.chain === null
    ? 0
    : 1;
