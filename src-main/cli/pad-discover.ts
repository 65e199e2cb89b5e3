import { discoverPads, formatReport } from '../../drivers/discovery/discover.ts';
import { loadCounterConfig } from '../core/config.ts';
import { padConfigSchema } from '../core/pad-config.ts';
import { EXIT, parse, UsageError } from './usage.ts';

export const usage = `usage: haocha pad-discover [--serial S] [--profile ID] [--config FILE] [--port PATH ...]
                           [--listen-ms N] [--json]

Finds evaluator pads: lists the serial ports, probes those behind a known USB-serial chip (CH340,
CP210x, FTDI) or a native ttyACM, EVP/1 first (GET_INFO, HELLO within 1 s), then KEYLINE (press a
key on the pad while it listens), and says which pad a counter with "pad": {"path": "auto"} would
use, and why every other port was not it. Every port probed is released again.

  --serial S     the pad wanted: its HELLO serial or its USB serial number (default: the config's
                 pad.serial; without one, the single pad found is chosen, never one of several)
  --profile ID   probe only this profile (evp1, evp1-115200, keyline, keyline-reversed)
  --config FILE  counter configuration (JSON): its pad.serial and pad.profile
  --port PATH    probe this path (repeatable) instead of listing the ports; probed even without
                 a USB fingerprint
  --listen-ms N  how long to listen for a KEYLINE key press (default 3000)
  --json         print the report as JSON

Exit code 0 when a pad was chosen, 1 when none was.
`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    serial: { type: 'string' },
    profile: { type: 'string' },
    config: { type: 'string' },
    port: { type: 'string', multiple: true },
    'listen-ms': { type: 'string' },
    json: { type: 'boolean' },
  });
  const pad = values.config ? loadCounterConfig(values.config).pad : padConfigSchema.parse(undefined);
  const profile = values.profile ?? pad.profile;
  if (values.profile !== undefined) {
    const checked = padConfigSchema.safeParse({ profile: values.profile });
    if (!checked.success)
      throw new UsageError(`--profile ${checked.error.issues[0]?.message ?? 'is invalid'}`);
  }
  let listenMs = 3000;
  if (values['listen-ms'] !== undefined) {
    listenMs = Number(values['listen-ms']);
    if (!Number.isInteger(listenMs) || listenMs < 0 || listenMs > 600_000)
      throw new UsageError(`--listen-ms must be a whole number of ms (0-600000), got ${values['listen-ms']}`);
  }
  const ports = values.port;
  const report = await discoverPads({
    wantedSerial: values.serial ?? pad.serial,
    profile,
    keylineListenMs: listenMs,
    ...(ports ? { list: async () => ports.map((path) => ({ path })), probeUnknown: true } : {}),
  });
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return report.chosen ? EXIT.ok : EXIT.failed;
}
