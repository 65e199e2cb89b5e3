/**
 * The simulated pad on a real serial device path: the pad's end of a socat pty pair, a USB-serial
 * adapter looped to another, or a real port. Used by `haocha pad-sim` and the demo.
 *
 * The pad must outlive the counter at the other end. With socat ptys a host close or crash never
 * reaches this end (socat holds both pty slaves itself; see drivers/README.md), but socat itself
 * can die or be restarted, so the port is wrapped in a ReconnectingTransport: on close or error it
 * reopens the same path with backoff, forever, and the simulator keeps its boot and its presses.
 */

import { realpathSync } from 'node:fs';
import type { Key } from '../evp1/frames.ts';
import { ReconnectingTransport } from '../transports/reconnecting.ts';
import { SerialTransport } from '../transports/serial.ts';
import type { Logger } from '../util/clock.ts';
import { FaultyTransport } from './faults.ts';
import { KeylinePadSimulator } from './keyline-pad.ts';
import { PadSimulator, type PadSimulatorOptions, seededRandom } from './pad-simulator.ts';

export interface PtyPadOptions extends Omit<PadSimulatorOptions, 'transport'> {
  /** Serial device path, e.g. the `link=` path of a socat pty. */
  path: string;
  baudRate?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** How often the path is checked for a replaced device (ms, default 100; 0 = never). */
  watchPathMs?: number;
}

export interface PtyPad {
  sim: PadSimulator;
  transport: ReconnectingTransport;
  stop(): Promise<void>;
}

/** The pad's end of a serial path, reopened forever; also reopened when the path is re-pointed. */
export function openPadPort(
  path: string,
  options: Pick<
    PtyPadOptions,
    'baudRate' | 'reconnectMinMs' | 'reconnectMaxMs' | 'watchPathMs' | 'log' | 'clock'
  >,
): { transport: ReconnectingTransport; stopWatching(): void } {
  const transport = new ReconnectingTransport({
    description: `pad-sim:${path}`,
    create: () => new SerialTransport({ path, baudRate: options.baudRate ?? 9600 }),
    minDelayMs: options.reconnectMinMs ?? 100,
    maxDelayMs: options.reconnectMaxMs ?? 2000,
    ...(options.log ? { log: options.log } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  // When socat is restarted, the old pty slave this end holds does not always report an error
  // (measured: most of the time it just goes quiet), so the pad would talk into a dead pty
  // forever. Watch what the path points to and reopen when it names another device.
  let device: string | null = null;
  const resolve = (): string | null => {
    try {
      return realpathSync(path);
    } catch {
      return null;
    }
  };
  transport.on('connection', (up) => {
    device = up ? resolve() : null;
  });
  const everyMs = options.watchPathMs ?? 100;
  const watch =
    everyMs > 0
      ? setInterval(() => {
          if (!transport.connected || device === null) return;
          const now = resolve();
          if (now !== device) transport.recycle(`${path} now points to ${now ?? 'nothing'}`);
        }, everyMs)
      : null;
  watch?.unref();
  return {
    transport,
    stopWatching: () => {
      if (watch) clearInterval(watch);
    },
  };
}

/** Starts a PadSimulator on `path`; resolves once it has powered up (the port may still be opening). */
export async function startPtyPad(options: PtyPadOptions): Promise<PtyPad> {
  const { path, baudRate, reconnectMinMs, reconnectMaxMs, watchPathMs, ...simOptions } = options;
  const { transport, stopWatching } = openPadPort(path, {
    baudRate,
    reconnectMinMs,
    reconnectMaxMs,
    watchPathMs,
    log: simOptions.log,
    clock: simOptions.clock,
  });
  const sim = new PadSimulator({ ...simOptions, transport });
  await sim.start();
  return {
    sim,
    transport,
    stop: async () => {
      stopWatching();
      await sim.stop();
    },
  };
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
  /** Probability (0..1) that a byte on the line is corrupted, both directions. */
  corrupt?: number;
  /** The pad is wired in reverse: button k sends key 6 - k. */
  reverseKeys?: boolean;
  /** Speak KEYLINE (`K1\r\n` …, no ACK) instead of EVP/1. */
  keyline?: boolean;
  /** After every N presses, unplug the pad: its port is closed and reopened, and (EVP/1) it powers up again with a new boot_id. */
  unplugEvery?: number;
}

export interface SimPressResult {
  pressId: number;
  /** The host's ACK status; null for KEYLINE (no ACK). */
  status: number | null;
  /** The button pressed, and the key the (maybe reversed) wiring sent. */
  button: Key;
  key: Key;
}

export interface PadSimRun {
  /** The EVP/1 simulator; null with `keyline`. */
  sim: PadSimulator | null;
  keyline: KeylinePadSimulator | null;
  /** Resolves after the scripted presses (at once when there are none) or when stopped. */
  done: Promise<SimPressResult[]>;
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

/** What the `haocha pad-sim` CLI runs. Deterministic with a seed: keys, boot ids and corruption. */
export async function runPadSim(options: RunPadSimOptions): Promise<PadSimRun> {
  const { log } = options;
  const seed = options.seed ?? (globalThis.crypto.getRandomValues(new Uint32Array(1))[0] as number);
  const logger = lineLogger(log);
  const port = openPadPort(options.link, { baudRate: options.baudRate, log: logger });
  const corrupt = options.corrupt ?? 0;
  const faulty =
    corrupt > 0
      ? new FaultyTransport(port.transport, {
          corruptRate: corrupt,
          random: seededRandom((seed ^ 0x9e3779b9) >>> 0),
        })
      : null;
  const line = faulty ?? port.transport;
  let sim: PadSimulator | null = null;
  let keyline: KeylinePadSimulator | null = null;
  let random: () => number;
  if (options.keyline) {
    keyline = new KeylinePadSimulator(line);
    await keyline.start();
    random = seededRandom(seed);
    log(`pad-sim on ${options.link}: KEYLINE pad (no ACK, no boot id)`);
  } else {
    const evp = new PadSimulator({
      transport: line,
      log: logger,
      seed,
      ...(options.bootId !== undefined ? { bootId: options.bootId } : {}),
      ...(options.model !== undefined ? { model: options.model } : {}),
      ...(options.firmware !== undefined ? { firmware: options.firmware } : {}),
      ...(options.serial !== undefined ? { serial: options.serial } : {}),
    });
    await evp.start();
    sim = evp;
    random = evp.random;
    log(`pad-sim on ${options.link}: boot_id ${evp.bootId}, model ${evp.model}`);
    evp.on('host-message', (m) => {
      // Liveness traffic every 2 s would drown the interesting lines.
      if (m.type !== 'PING') log(`host → pad: ${JSON.stringify(m)}`);
    });
    evp.on('error-light', (on) =>
      log(on ? 'error light ON (no answer from the counter)' : 'error light off'),
    );
  }
  if (corrupt > 0) log(`corrupting ${corrupt * 100}% of the bytes on the line (seed ${seed})`);
  if (options.reverseKeys) log('keys wired in reverse: button k sends key 6 - k');

  let stopped = false;
  let resolveStopped!: () => void;
  const stoppedP = new Promise<void>((r) => {
    resolveStopped = r;
  });
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => {
    resolveClosed = r;
  });
  const cleanups: (() => void)[] = [() => port.stopWatching()];
  let pressCount = 0;

  const unplug = async () => {
    log(`unplug after ${pressCount} presses`);
    port.transport.recycle('unplugged by --unplug-every');
    if (sim) {
      await sim.powerCycle();
      log(`power-up: boot_id ${sim.bootId}`);
    }
  };

  const portUp = (): Promise<void> =>
    port.transport.connected
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const off = port.transport.on('connection', (up) => {
            if (!up) return;
            off();
            resolve();
          });
          void stoppedP.then(() => {
            off();
            resolve();
          });
        });

  const press = async (button: Key): Promise<SimPressResult | null> => {
    const key = (options.reverseKeys ? 6 - button : button) as Key;
    log(key === button ? `press key ${key}` : `press button ${button} (sends key ${key})`);
    let result: SimPressResult | null;
    try {
      if (keyline) {
        await portUp();
        const r = await keyline.press(key);
        log(`press ${r.pressId} (key ${key}): sent, KEYLINE has no ACK`);
        result = { pressId: r.pressId, status: null, button, key };
      } else if (sim) {
        const r = await sim.press(key);
        log(`press ${r.pressId} (key ${key}): ACK status ${r.status}, ${STATUS_TEXT[r.status]}`);
        result = { pressId: r.pressId, status: r.status, button, key };
      } else {
        result = null;
      }
    } catch (err) {
      log(`press (key ${key}) lost: ${(err as Error).message}`);
      result = null;
    }
    pressCount++;
    if (options.unplugEvery && pressCount % options.unplugEvery === 0 && !stopped) await unplug();
    return result;
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

  const scripted = async (): Promise<SimPressResult[]> => {
    const results: SimPressResult[] = [];
    const n = options.presses ?? 0;
    for (let i = 0; i < n && !stopped; i++) {
      if (i > 0) {
        await Promise.race([new Promise((r) => setTimeout(r, options.intervalMs ?? 1000)), stoppedP]);
        if (stopped) break;
      }
      const button = (Math.floor(random() * 5) + 1) as Key;
      const r = await Promise.race([press(button), stoppedP.then(() => null)]);
      if (r) results.push(r);
    }
    return results;
  };

  const run: PadSimRun = {
    sim,
    keyline,
    done: scripted(),
    stopped: closed,
    stop: async () => {
      if (stopped) return closed;
      stopped = true;
      resolveStopped();
      for (const c of cleanups) c();
      if (sim) await sim.stop();
      if (keyline) await keyline.stop();
      if (faulty) log(`${faulty.corrupted} bytes corrupted`);
      log('pad-sim stopped');
      resolveClosed();
    },
  };
  return run;
}
