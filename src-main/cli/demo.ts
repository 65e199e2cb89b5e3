import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { Key } from '../../drivers/evp1/frames.ts';
import type { PadSimulator } from '../../drivers/sim/pad-simulator.ts';
import { startPtyPad } from '../../drivers/sim/pty-pad.ts';
import { createPtyPair, socatPath } from '../../drivers/sim/pty-pair.ts';
import { startHub } from '../../hub/server.ts';
import { defaultCounterConfig } from '../core/config.ts';
import { enrollDemoCounter } from './demo-enroll.ts';
import { openUi } from './open-ui.ts';
import { runCounter } from './run-counter.ts';
import { EXIT, parse, portOf, untilSignal } from './usage.ts';

export const usage = `usage: haocha demo [--data DIR] [--hub-port N] [--ui-port N] [--no-open] [--auto SECONDS]

Runs everything on this machine with embedded defaults (what \`npm start\` does): a hub on SQLite,
a simulated evaluator pad on a virtual serial pair (socat; an in-memory link where socat is
missing), the counter, and its UI (Electron where installed, otherwise a browser).

  --data DIR        where hub and counter keep their files (default ./.haocha-demo)
  --hub-port N      hub port (default 8700; 0 picks a free one)
  --ui-port N       counter UI port (default 8701; 0 picks a free one)
  --no-open         do not open a window; just print the addresses
  --auto SECONDS    every SECONDS, open a rating and press a random key, as a visitor would

In the terminal: o opens a rating (as the staff screen's 邀请评价 does), 1-5 press the pad's keys,
q or Ctrl-C stops everything.
`;

function electronBinary(): string | null {
  try {
    // The electron package's main export is the path to its binary; absent where it could not download.
    const bin = createRequire(import.meta.url)('electron') as unknown;
    return typeof bin === 'string' ? bin : null;
  } catch {
    return null;
  }
}

/**
 * Starts on the default port, or on any free one when the default is taken (a second demo, another
 * program): `npm start` must not need a manual step. A port the user asked for is never swapped.
 */
async function onFreePort<T>(
  isDefault: boolean,
  port: number,
  say: (l: string) => void,
  start: (port: number) => Promise<T>,
): Promise<T> {
  try {
    return await start(port);
  } catch (e) {
    if (!isDefault || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    say(`port ${port} is in use; taking a free one`);
    return start(0);
  }
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    data: { type: 'string' },
    'hub-port': { type: 'string' },
    'ui-port': { type: 'string' },
    'no-open': { type: 'boolean' },
    auto: { type: 'string' },
  });
  const say = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const dataDir = resolve(values.data ?? '.haocha-demo');
  mkdirSync(dataDir, { recursive: true });
  const autoSecs = values.auto === undefined ? null : Number(values.auto);
  if (autoSecs !== null && !(autoSecs > 0))
    throw new Error(`--auto must be a positive number of seconds, got ${values.auto}`);
  const stops: (() => Promise<void> | void)[] = [];
  const stopAll = async () => {
    for (const s of stops.splice(0).reverse()) {
      try {
        await s();
      } catch (e) {
        say(`while stopping: ${(e as Error).message}`);
      }
    }
  };

  try {
    const hub = await onFreePort(
      values['hub-port'] === undefined,
      portOf(values['hub-port'], '--hub-port', 8700),
      say,
      (port) => startHub({ dataDir: join(dataDir, 'hub'), port, logger: false, requireSignatures: true }),
    );
    stops.push(() => hub.close());
    say(`hub (评价中心) running: ${hub.url}/   data in ${join(dataDir, 'hub')}`);
    // Device trust end to end: the counter enrolls with a token and signs every upload.
    const defaults = defaultCounterConfig();
    const enrolled = await enrollDemoCounter({
      hubUrl: hub.url,
      hubDir: join(dataDir, 'hub'),
      counterDir: join(dataDir, 'counter'),
      hallId: defaults.hall_id,
      windowId: defaults.window_id,
    });
    say(
      enrolled === 'enrolled'
        ? 'counter enrolled with the hub (haocha enroll): its uploads are signed'
        : 'counter already enrolled with the hub: its uploads are signed',
    );

    // The pad: on a real pty pair when socat exists, so the counter reads a serial device as in a hall.
    let padPath: string;
    let sim: PadSimulator | null = null;
    if (socatPath()) {
      mkdirSync(join(dataDir, 'pty'), { recursive: true });
      const pair = await createPtyPair(join(dataDir, 'pty'));
      stops.push(() => pair.close());
      const ptyPad = await startPtyPad({ path: pair.padPath });
      stops.push(() => ptyPad.stop());
      sim = ptyPad.sim;
      padPath = pair.hostPath;
      say(`simulated pad on a virtual serial pair: the counter reads ${padPath}`);
    } else {
      padPath = 'sim';
      say(
        'socat not found: the simulated pad uses an in-memory link (install the "socat" package for a serial pty)',
      );
    }

    const config = { ...defaultCounterConfig(), sync: { ...defaultCounterConfig().sync, interval_ms: 1000 } };
    const electron = electronBinary();
    let openRating: () => Promise<void>;
    if (electron) {
      // Electron hosts the counter core itself; the demo keeps the hub and the pad.
      const build = spawn(process.execPath, ['scripts/build-electron.mjs'], { stdio: 'inherit' });
      await new Promise((r) => build.once('exit', r));
      const app = spawn(
        electron,
        ['.', '--data', join(dataDir, 'counter'), '--hub', hub.url, '--pad', padPath, '--staff-window'],
        {
          stdio: 'inherit',
        },
      );
      stops.push(() => {
        if (app.exitCode === null) app.kill();
      });
      app.once('exit', () => process.kill(process.pid, 'SIGINT'));
      say('counter app started in Electron');
      openRating = async () => say('open a rating from the staff window (邀请评价)');
    } else {
      const counter = await onFreePort(
        values['ui-port'] === undefined,
        portOf(values['ui-port'], '--ui-port', 8701),
        say,
        (uiPort) =>
          runCounter({ dataDir: join(dataDir, 'counter'), hubUrl: hub.url, config, pad: padPath, uiPort }),
      );
      stops.push(() => counter.close());
      if (counter.sim) sim = counter.sim;
      const ui = counter.uiUrl as string;
      say(`counter UI (no Electron binary here, so in a browser):`);
      say(`  citizen screen  ${ui}/#/citizen`);
      say(`  staff screen    ${ui}/#/staff`);
      say('  demo staff 090317 李明 is signed in; after 签退, sign in again with PIN 246810');
      if (!values['no-open']) {
        const closeStaff = await openUi(`${ui}/#/staff`, say);
        const closeCitizen = await openUi(`${ui}/#/citizen`, say);
        stops.push(() => {
          closeStaff?.();
          closeCitizen?.();
        });
      }
      let acked = counter.counter.sync.view().last_acked_seq;
      counter.counter.on('sync', (v) => {
        if (v.last_acked_seq > acked) say(`uploaded to the hub: ratings through seq ${v.last_acked_seq}`);
        acked = Math.max(acked, v.last_acked_seq);
      });
      openRating = async () => {
        counter.counter.openRating(null);
        say('rating open: press 1-5 (or touch the citizen screen)');
      };
    }

    const press = async (key: Key) => {
      if (!sim) {
        say('the simulated pad runs inside the app here: use the citizen screen');
        return;
      }
      const r = await sim.press(key);
      const what = [
        'accepted: 谢谢您的评价',
        'recorded, not a rating (no rating open)',
        'refused: the counter cannot store',
      ][r.status];
      say(`pad key ${key} (press ${r.pressId}): ${what}`);
    };

    let autoTimer: NodeJS.Timeout | null = null;
    if (autoSecs) {
      autoTimer = setInterval(() => {
        void openRating()
          .then(() => press((1 + Math.floor(Math.random() * 5)) as Key))
          .catch((e: Error) => say(`press not delivered: ${e.message}`)); // e.g. the pad stopped during shutdown
      }, autoSecs * 1000);
      stops.push(() => {
        if (autoTimer) clearInterval(autoTimer);
      });
    }

    const stdin = process.stdin;
    let quit: () => void = () => {};
    const quitting = new Promise<void>((r) => {
      quit = r;
    });
    if (stdin.isTTY) {
      stdin.setRawMode(true);
      stdin.resume();
      const onKey = (chunk: Buffer) => {
        for (const ch of chunk.toString('utf8')) {
          if (ch >= '1' && ch <= '5') void press(Number(ch) as Key);
          else if (ch === 'o') void openRating();
          else if (ch === 'q' || ch === '\u0003' || ch === '\u0004') quit();
        }
      };
      stdin.on('data', onKey);
      stops.push(() => {
        stdin.off('data', onKey);
        stdin.setRawMode(false);
        stdin.pause();
      });
      say('keys: o = open a rating, 1-5 = press the pad, q = quit');
    }
    say('demo running; Ctrl-C stops it');
    await Promise.race([untilSignal(), quitting]);
    say('stopping…');
    await stopAll();
    say('stopped');
    return EXIT.ok;
  } catch (e) {
    await stopAll();
    throw e;
  }
}
