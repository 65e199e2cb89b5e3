import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPadSim } from '../../drivers/sim/pty-pad.ts';
import { createPtyPair, type PtyPair } from '../../drivers/sim/pty-pair.ts';
import { EXIT, parse, UsageError, untilSignal } from './usage.ts';

export const usage = `usage: haocha pad-sim [--link PATH] [--presses N] [--interval-ms N] [--seed S]
                     [--corrupt RATE] [--reverse-keys] [--keyline] [--unplug-every N]

Simulates an EVP/1 evaluator pad, so a counter can be checked without hardware.
  --link PATH       the pad's end of a serial link (e.g. one end of a socat pty pair or a
                    USB-serial adapter looped to the counter's). Without it, a virtual pair is
                    made with socat and the path to give the counter (--pad) is printed.
  --presses N       press N random keys, one after another (each waits for its ACK)
  --interval-ms N   pause between those presses (default 1000)
  --seed S          make boot id, keys and corruption reproducible
  --corrupt RATE    corrupt each byte on the line with probability RATE (0..1), both ways
  --reverse-keys    a pad wired in reverse: button k sends key 6 - k
  --keyline         a cheap KEYLINE pad: sends K1..K5 lines, hears nothing, gets no ACK
  --unplug-every N  after every N presses, unplug the pad (port reopened; EVP/1: new boot_id)
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
    corrupt: { type: 'string' },
    'reverse-keys': { type: 'boolean' },
    keyline: { type: 'boolean' },
    'unplug-every': { type: 'string' },
  });
  const presses = intOf(values.presses, '--presses');
  const intervalMs = intOf(values['interval-ms'], '--interval-ms');
  const seed = intOf(values.seed, '--seed');
  const unplugEvery = intOf(values['unplug-every'], '--unplug-every');
  if (unplugEvery === 0) throw new UsageError('--unplug-every must be at least 1');
  let corrupt: number | undefined;
  if (values.corrupt !== undefined) {
    corrupt = Number(values.corrupt);
    if (!(corrupt >= 0 && corrupt <= 1))
      throw new UsageError(`--corrupt must be a rate within 0..1, got ${values.corrupt}`);
  }
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
    ...(corrupt !== undefined ? { corrupt } : {}),
    ...(unplugEvery !== undefined ? { unplugEvery } : {}),
    ...(values['reverse-keys'] ? { reverseKeys: true } : {}),
    ...(values.keyline ? { keyline: true } : {}),
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
