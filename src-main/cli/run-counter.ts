import { fileURLToPath } from 'node:url';
import { PadSimulator } from '../../drivers/sim/pad-simulator.ts';
import { createMemoryPair } from '../../drivers/transports/memory.ts';
import type { CounterConfig } from '../core/config.ts';
import { Counter } from '../core/counter.ts';
import {
  type AutoPadAttachment,
  type AutoPadOptions,
  attachPad,
  attachPadAuto,
  type PadAttachment,
} from '../core/pad.ts';
import { padSource, withPadProfile } from '../core/pad-config.ts';
import { startWindowApi, type WindowApi } from '../core/window-api/server.ts';
import { startDevhost } from '../devhost/devhost.ts';

export const RENDERER_DIR = fileURLToPath(new URL('../../dist-renderer/', import.meta.url));

export interface RunningCounter {
  counter: Counter;
  pad: PadAttachment | null;
  /** Set when the pad is simulated in this process (`--pad sim`). */
  sim: PadSimulator | null;
  uiUrl: string | null;
  /** The local window-system API, when a port was given (off by default). */
  api: WindowApi | null;
  close(): Promise<void>;
}

/**
 * Starts the counter's core services, its pad link and (when a UI port is given) the devhost:
 * what `haocha counter` and `haocha demo` share.
 */
export async function runCounter(opts: {
  dataDir: string;
  hubUrl: string;
  config: CounterConfig;
  /** `--pad`: a path, `tcp://…`, `sim`, `auto` or `none`; it wins over the config's `pad.path`. */
  pad: string | null;
  uiPort: number | null;
  /** Discovery's messages (`auto`): which pad was chosen, or the report when none was. */
  log?: (line: string) => void;
  /** Discovery's ports and timeouts for `auto` (tests give pty paths); default: the OS's ports. */
  padDiscovery?: AutoPadOptions['discovery'];
  /** Window-system API on 127.0.0.1:port (0 picks one), with an optional result webhook. */
  api?: { port: number; webhookUrl?: string | null } | null;
}): Promise<RunningCounter> {
  const source = padSource(opts.pad, opts.config.pad);
  const config = withPadProfile(opts.config, source);
  const counter = new Counter({ dataDir: opts.dataDir, hubUrl: opts.hubUrl, config });
  counter.start();
  let fixedPad: PadAttachment | null = null;
  let auto: AutoPadAttachment | null = null;
  let sim: PadSimulator | null = null;
  if (source.kind === 'sim') {
    // A pad simulated in this process over an in-memory link: for machines without socat.
    const [hostEnd, padEnd] = createMemoryPair();
    sim = new PadSimulator({ transport: padEnd });
    await sim.start();
    fixedPad = attachPad(counter, 'memory:sim', () => hostEnd);
  } else if (source.kind === 'path') {
    fixedPad = attachPad(counter, source.path, undefined, { profile: source.profile });
  } else if (source.kind === 'auto') {
    auto = attachPadAuto(counter, {
      serial: source.serial,
      profile: source.profile,
      ...(opts.log ? { log: opts.log } : {}),
      ...(opts.padDiscovery ? { discovery: opts.padDiscovery } : {}),
    });
    await auto.ready;
  }
  const padNow = () => fixedPad ?? auto?.pad ?? null;
  const closePad = async () => {
    await fixedPad?.close();
    await auto?.close();
  };
  let ui: Awaited<ReturnType<typeof startDevhost>> | null = null;
  try {
    ui =
      opts.uiPort === null
        ? null
        : await startDevhost({ counter, staticDir: RENDERER_DIR, port: opts.uiPort });
  } catch (e) {
    // The UI port is taken: release the store and the pad before reporting it.
    await closePad();
    await sim?.stop();
    await counter.close();
    throw e;
  }
  let api: WindowApi | null = null;
  try {
    api = opts.api
      ? await startWindowApi({
          counter,
          port: opts.api.port,
          webhook: opts.api.webhookUrl ? { url: opts.api.webhookUrl } : null,
        })
      : null;
  } catch (e) {
    // The API port is taken: release the UI, the store and the pad before reporting it.
    await ui?.close();
    await closePad();
    await sim?.stop();
    await counter.close();
    throw e;
  }
  return {
    counter,
    get pad() {
      return padNow();
    },
    sim,
    uiUrl: ui?.url ?? null,
    api,
    async close() {
      await api?.close();
      await ui?.close();
      await closePad();
      await sim?.stop();
      await counter.close();
    },
  };
}
