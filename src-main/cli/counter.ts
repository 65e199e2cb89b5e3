import { resolve } from 'node:path';
import { loadCounterConfig } from '../core/config.ts';
import { openUi } from './open-ui.ts';
import { runCounter } from './run-counter.ts';
import { EXIT, parse, portOf, requireString, UsageError, untilSignal } from './usage.ts';

export const usage = `usage: haocha counter --data DIR --hub URL [--pad PATH|sim|auto|none] [--headless] [--ui-port N]
                      [--config FILE] [--api-port N [--api-webhook URL]]

Runs a counter: its store in DIR, uploads to the hub at URL, reads the evaluator pad on PATH
(a serial device such as /dev/ttyUSB0, tcp://host:port, "sim" for a simulated pad in this
process, "auto" to find it as haocha pad-discover does, "none" for no pad). Without --pad, the
config's pad.path decides (default: no pad); its pad.profile and pad.serial apply either way.

  --headless     do not open a window; with --ui-port the UI is still served for a browser
  --ui-port N    serve the counter UI and its bridge on http://127.0.0.1:N/ (0 picks a port)
  --config FILE  counter configuration (JSON); embedded defaults otherwise
  --api-port N   serve the window-system API (business and queue systems) on http://127.0.0.1:N/
                 (0 picks a port; off by default); its bearer token is DIR/window-api.token
  --api-webhook URL  POST each API-opened case's result (rated / not_rated, never the level) here
`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    data: { type: 'string' },
    hub: { type: 'string' },
    pad: { type: 'string' },
    headless: { type: 'boolean' },
    'ui-port': { type: 'string' },
    config: { type: 'string' },
    'api-port': { type: 'string' },
    'api-webhook': { type: 'string' },
  });
  const dataDir = resolve(requireString(values.data, '--data DIR'));
  const hubUrl = requireString(values.hub, '--hub URL').replace(/\/+$/, '');
  if (!/^https?:\/\//.test(hubUrl)) throw new UsageError(`--hub must be an http(s) URL, got ${hubUrl}`);
  const config = loadCounterConfig(values.config);
  if (values.pad === '') throw new UsageError('--pad needs a value: PATH, sim, auto or none');
  const pad = values.pad ?? null;
  if (pad === null && config.pad.path === null)
    process.stderr.write(
      'haocha counter: running without a pad (no --pad, and pad.path is null in the config)\n',
    );
  const uiPort =
    values['ui-port'] !== undefined ? portOf(values['ui-port'], '--ui-port', 0) : values.headless ? null : 0;
  const webhookUrl = values['api-webhook'] ?? null;
  if (webhookUrl !== null && values['api-port'] === undefined)
    throw new UsageError('--api-webhook needs --api-port');
  if (webhookUrl !== null && !/^https?:\/\//.test(webhookUrl))
    throw new UsageError(`--api-webhook must be an http(s) URL, got ${webhookUrl}`);
  const api =
    values['api-port'] !== undefined
      ? { port: portOf(values['api-port'], '--api-port', 0), webhookUrl }
      : null;
  const running = await runCounter({
    dataDir,
    hubUrl,
    config,
    pad,
    uiPort,
    api,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  // Scripts and tests wait for this exact line; keep its shape.
  process.stdout.write(
    `${JSON.stringify({ ready: true, device_id: running.counter.store.deviceId, ui: running.uiUrl, api: running.api?.url ?? null, pid: process.pid })}\n`,
  );
  const stopUi = !values.headless && running.uiUrl ? await openUi(`${running.uiUrl}/#/citizen`) : null;
  await untilSignal();
  stopUi?.();
  await running.close();
  return EXIT.ok;
}
