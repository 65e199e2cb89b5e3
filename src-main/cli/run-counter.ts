import { fileURLToPath } from 'node:url';
import { PadSimulator } from '../../drivers/sim/pad-simulator.ts';
import { createMemoryPair } from '../../drivers/transports/memory.ts';
import type { CounterConfig } from '../core/config.ts';
import { Counter } from '../core/counter.ts';
import { attachPad, type PadAttachment } from '../core/pad.ts';
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
  pad: string | null;
  uiPort: number | null;
  /** Window-system API on 127.0.0.1:port (0 picks one), with an optional result webhook. */
  api?: { port: number; webhookUrl?: string | null } | null;
}): Promise<RunningCounter> {
  const counter = new Counter({ dataDir: opts.dataDir, hubUrl: opts.hubUrl, config: opts.config });
  counter.start();
  let pad: PadAttachment | null = null;
  let sim: PadSimulator | null = null;
  if (opts.pad === 'sim') {
    // A pad simulated in this process over an in-memory link: for machines without socat.
    const [hostEnd, padEnd] = createMemoryPair();
    sim = new PadSimulator({ transport: padEnd });
    await sim.start();
    pad = attachPad(counter, 'memory:sim', () => hostEnd);
  } else if (opts.pad) {
    pad = attachPad(counter, opts.pad);
  }
  let ui: Awaited<ReturnType<typeof startDevhost>> | null = null;
  try {
    ui =
      opts.uiPort === null
        ? null
        : await startDevhost({ counter, staticDir: RENDERER_DIR, port: opts.uiPort });
  } catch (e) {
    // The UI port is taken: release the store and the pad before reporting it.
    await pad?.close();
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
    await pad?.close();
    await sim?.stop();
    await counter.close();
    throw e;
  }
  return {
    counter,
    pad,
    sim,
    uiUrl: ui?.url ?? null,
    api,
    async close() {
      await api?.close();
      await ui?.close();
      await pad?.close();
      await sim?.stop();
      await counter.close();
    },
  };
}
