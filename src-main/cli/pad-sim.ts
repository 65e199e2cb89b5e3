import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPadSim } from '../../drivers/sim/pty-pad.ts';
import { createPtyPair, type PtyPair } from '../../drivers/sim/pty-pair.ts';
import { EXIT, parse, UsageError, untilSignal } from './usage.ts';

export const usage = `usage: haocha pad-sim [--link PATH] [--presses N] [--interval-ms N] [--seed S]

Simulates an EVP/1 evaluator pad, so a counter can be checked without hardware.
  --link PATH       the pad's end of a serial link (e.g. one end of a socat pty pair or a
                    USB-serial adapter looped to the counter's). Without it, a virtual pair is
                    made with socat and the path to give the counter (--pad) is printed.
  --presses N       press N random keys, one after another (each waits for its ACK)
  --interval-ms N   pause between those presses (default 1000)
  --seed S          make boot id and keys reproducible
On a terminal, keys 1-5 press the pad's buttons and q quits.
`;

function intOf(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a whole number, got ${v}`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    link: { type: 'string' },
    presses: { type: 'string' },
    'interval-ms': { type: 'string' },
    seed: { type: 'string' },
  });
  const presses = intOf(values.presses, '--presses');
  const intervalMs = intOf(values['interval-ms'], '--interval-ms');
  const seed = intOf(values.seed, '--seed');
  let pair: PtyPair | null = null;
  let link = values.link;
  if (!link) {
    pair = await createPtyPair(mkdtempSync(join(tmpdir(), 'haocha-pad-')));
    link = pair.padPath;
    process.stdout.write(`virtual serial pair ready: run the counter with --pad ${pair.hostPath}\n`);
  }
  const sim = await runPadSim({
    link,
    log: (line) => process.stdout.write(`${line}\n`),
    ...(presses !== undefined ? { presses } : {}),
    ...(intervalMs !== undefined ? { intervalMs } : {}),
    ...(seed !== undefined ? { seed } : {}),
  });
  if (presses !== undefined && !process.stdin.isTTY) {
    // Scripted run: stop when the presses are done (or on a signal).
    await Promise.race([sim.done, untilSignal()]);
  } else {
    await Promise.race([sim.stopped, untilSignal()]);
  }
  await sim.stop();
  await pair?.close();
  return EXIT.ok;
}
