import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./hub-child.ts', import.meta.url));

export interface HubProcess {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export interface SpawnHubOptions {
  /** The hub answers uploads without storing them (bench/lib/discard-ratings.ts). */
  discardRatings?: boolean;
}

/** Starts bench/lib/hub-child.ts and waits for its URL line. */
export async function spawnHub(
  dataDir: string,
  db?: string,
  options: SpawnHubOptions = {},
): Promise<HubProcess> {
  // HAOCHA_BENCH_HUB_PROF=DIR writes a V8 CPU profile of the hub process there (where does its time go?).
  const prof = process.env.HAOCHA_BENCH_HUB_PROF;
  const profArgs = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [];
  // HAOCHA_BENCH_HUB_NODE_ARGS: more Node/V8 flags for the hub process alone (space-separated),
  // to try a runtime setting without the counters' process taking it too.
  const nodeArgs = (process.env.HAOCHA_BENCH_HUB_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(
    process.execPath,
    [
      ...profArgs,
      ...nodeArgs,
      '--import',
      'tsx',
      CHILD,
      dataDir,
      ...(db ? [db] : []),
      ...(options.discardRatings ? ['--discard-ratings'] : []),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  // Never leave a hub behind when the benchmark dies.
  process.once('exit', () => proc.kill('SIGKILL'));
  const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  const url = await new Promise<string>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`hub exited with ${code} before listening`)));
    lines.once('line', (line) => resolve((JSON.parse(line) as { url: string }).url));
  });
  return {
    url,
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}
