/**
 * The simulated pad on a real serial device path: the pad's end of a socat pty pair, a USB-serial
 * adapter looped to another, or a real port. Used by `haocha pad-sim` and the demo.
 *
 * The pad must outlive the counter at the other end. With socat ptys a host close or crash never
 * reaches this end (socat holds both pty slaves itself; see drivers/README.md), but socat itself
 * can die or be restarted, so the port is wrapped in a ReconnectingTransport: on close or error it
 * reopens the same path with backoff, forever, and the simulator keeps its boot and its presses.
 */

import type { Key } from '../evp1/frames.ts';
import { ReconnectingTransport } from '../transports/reconnecting.ts';
import { SerialTransport } from '../transports/serial.ts';
import type { Logger } from '../util/clock.ts';
import { PadSimulator, type PadSimulatorOptions, type PressResult } from './pad-simulator.ts';

export interface PtyPadOptions extends Omit<PadSimulatorOptions, 'transport'> {
  /** Serial device path, e.g. the `link=` path of a socat pty. */
  path: string;
  baudRate?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

export interface PtyPad {
  sim: PadSimulator;
  transport: ReconnectingTransport;
  stop(): Promise<void>;
}

/** Starts a PadSimulator on `path`; resolves once it has powered up (the port may still be opening). */
export async function startPtyPad(options: PtyPadOptions): Promise<PtyPad> {
  const { path, baudRate, reconnectMinMs, reconnectMaxMs, ...simOptions } = options;
  const transport = new ReconnectingTransport({
    description: `pad-sim:${path}`,
    create: () => new SerialTransport({ path, baudRate: baudRate ?? 9600 }),
    minDelayMs: reconnectMinMs ?? 100,
    maxDelayMs: reconnectMaxMs ?? 2000,
    ...(simOptions.log ? { log: simOptions.log } : {}),
    ...(simOptions.clock ? { clock: simOptions.clock } : {}),
  });
  const sim = new PadSimulator({ ...simOptions, transport });
  await sim.start();
  return { sim, transport, stop: () => sim.stop() };
}

export interface RunPadSimOptions {
  /** Serial device path of the pad's end. */
  link: string;
  /** Presses of random keys to make, one after another (each waits for its ACK). */
  presses?: number;
  /** Pause between presses, default 1000 ms. */
  intervalMs?: number;
  /** One human-readable line per event. */
  log: (line: string) => void;
  seed?: number;
  bootId?: number;
  baudRate?: number;
  model?: string;
  firmware?: string;
  serial?: string;
  /** Where keys 1-5 are read from when it is a TTY; default process.stdin. */
  stdin?: NodeJS.ReadStream;
}

export interface PadSimRun {
  sim: PadSimulator;
  /** Resolves after the scripted presses (at once when there are none) or when stopped. */
  done: Promise<PressResult[]>;
  /** Resolves once stop() has run (the user pressed q, or the caller stopped it). */
  stopped: Promise<void>;
  stop(): Promise<void>;
}

function lineLogger(log: (line: string) => void): Logger {
  const fmt = (level: string) => (obj: object, msg?: string) => {
    const fields = Object.entries(obj)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    log(`[${level}] ${msg ?? ''}${fields ? ` ${fields}` : ''}`);
  };
  return { debug: () => {}, info: fmt('info'), warn: fmt('warn'), error: fmt('error') };
}

const STATUS_TEXT = ['accepted (谢谢)', 'recorded, not a rating', 'refused: counter cannot store'];

/** What the `haocha pad-sim` CLI runs. */
export async function runPadSim(options: RunPadSimOptions): Promise<PadSimRun> {
  const { log } = options;
  const pad = await startPtyPad({
    path: options.link,
    log: lineLogger(log),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.bootId !== undefined ? { bootId: options.bootId } : {}),
    ...(options.baudRate !== undefined ? { baudRate: options.baudRate } : {}),
    ...(options.model !== undefined ? { model: options.model } : {}),
    ...(options.firmware !== undefined ? { firmware: options.firmware } : {}),
    ...(options.serial !== undefined ? { serial: options.serial } : {}),
  });
  const { sim } = pad;
  log(`pad-sim on ${options.link}: boot_id ${sim.bootId}, model ${sim.model}`);
  sim.on('host-message', (m) => {
    // Liveness traffic every 2 s would drown the interesting lines.
    if (m.type !== 'PING') log(`host → pad: ${JSON.stringify(m)}`);
  });
  sim.on('error-light', (on) => log(on ? 'error light ON (no answer from the counter)' : 'error light off'));

  let stopped = false;
  let resolveStopped!: () => void;
  const stoppedP = new Promise<void>((r) => {
    resolveStopped = r;
  });
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => {
    resolveClosed = r;
  });
  const cleanups: (() => void)[] = [];

  const press = (key: Key): Promise<PressResult | null> => {
    log(`press key ${key}`);
    return sim.press(key).then(
      (r) => {
        log(`press ${r.pressId} (key ${key}): ACK status ${r.status}, ${STATUS_TEXT[r.status]}`);
        return r;
      },
      (err: Error) => {
        log(`press (key ${key}) lost: ${err.message}`);
        return null;
      },
    );
  };

  const stdin = options.stdin ?? process.stdin;
  if (stdin.isTTY) {
    stdin.setRawMode(true);
    stdin.resume();
    const onKey = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch >= '1' && ch <= '5') void press(Number(ch) as Key);
        // q, Ctrl-C or Ctrl-D stop the simulator.
        else if (ch === 'q' || ch === '\u0003' || ch === '\u0004') void run.stop();
      }
    };
    stdin.on('data', onKey);
    cleanups.push(() => {
      stdin.off('data', onKey);
      stdin.setRawMode(false);
      stdin.pause();
    });
    log('keys 1-5 press the pad, q quits');
  }

  const scripted = async (): Promise<PressResult[]> => {
    const results: PressResult[] = [];
    const n = options.presses ?? 0;
    for (let i = 0; i < n && !stopped; i++) {
      if (i > 0) {
        await Promise.race([new Promise((r) => setTimeout(r, options.intervalMs ?? 1000)), stoppedP]);
        if (stopped) break;
      }
      const key = (Math.floor(sim.random() * 5) + 1) as Key;
      const r = await Promise.race([press(key), stoppedP.then(() => null)]);
      if (r) results.push(r);
    }
    return results;
  };

  const run: PadSimRun = {
    sim,
    done: scripted(),
    stopped: closed,
    stop: async () => {
      if (stopped) return closed;
      stopped = true;
      resolveStopped();
      for (const c of cleanups) c();
      await pad.stop();
      log('pad-sim stopped');
      resolveClosed();
    },
  };
  return run;
}
