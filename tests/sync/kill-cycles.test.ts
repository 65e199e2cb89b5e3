import { describe, expect, it } from 'vitest';
import { runKillCycles } from './kill-cycles.ts';

/**
 * The counter and the hub as real processes with the fault proxy between them, each SIGKILLed at
 * random points of the rating stream and restarted on its data: no rating the counter reported as
 * committed is lost, none is stored twice, the hub's chain verifies. Reduced size here; the full
 * size (100 cycles over 100k ratings) is `node --import tsx bench/sync-kill-cycles.ts`.
 */
const CYCLES = Number(process.env.HAOCHA_KILL_CYCLES ?? 10);
const RATINGS = Number(process.env.HAOCHA_KILL_RATINGS ?? 2000);
const SEED = Number(process.env.HAOCHA_KILL_SEED ?? Date.now() % 1_000_000);

describe('SIGKILL cycles of counter and hub', () => {
  it(`${CYCLES} cycles over ${RATINGS} ratings: 0 lost, 0 duplicated (seed ${SEED})`, async () => {
    const r = await runKillCycles({ cycles: CYCLES, ratings: RATINGS, rate: 400, seed: SEED });
    console.log(`kill-cycles (seed ${SEED}): ${JSON.stringify(r)}`);
    expect(r.counterKills + r.hubKills).toBeGreaterThanOrEqual(CYCLES);
    expect(r.committed).toBe(RATINGS);
    expect(r.reported).toBeGreaterThan(0);
    expect({
      lost: r.lost,
      duplicated: r.duplicated,
      foreign: r.foreign,
      reportedTwice: r.reportedTwice,
    }).toEqual({
      lost: 0,
      duplicated: 0,
      foreign: 0,
      reportedTwice: 0,
    });
    expect(r.hubRows).toBe(RATINGS);
    expect(r.chain).toBeNull();
  }, 300_000);
});
