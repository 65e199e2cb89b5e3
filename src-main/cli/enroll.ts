import { resolve } from 'node:path';
import { EXIT, parse, requireString } from './usage.ts';

export const usage = `usage: haocha enroll --data DIR --hub URL --token TOKEN

Enrolls this terminal with the hub, once: makes the terminal's own Ed25519 key pair (kept in
DIR/device-key.pem, mode 0600; under Electron in the OS keystore), sends the public half with the
single-use token IT staff made on the hub ("haocha hub token"), and keeps the result in
DIR/enrollment.json. From then on the counter signs every upload.
Exit 1 when the hub refuses (token unknown, used or expired; device already enrolled).
`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    data: { type: 'string' },
    hub: { type: 'string' },
    token: { type: 'string' },
  });
  const dataDir = resolve(requireString(values.data, '--data DIR'));
  const hubUrl = requireString(values.hub, '--hub URL');
  const token = requireString(values.token, '--token TOKEN');
  const { CounterStore } = await import('../core/store/counter-store.ts');
  const { FileKeyStore } = await import('../core/device-key.ts');
  const { enroll, EnrollError } = await import('../core/enrollment.ts');
  // The device id is the store's: enrolling names the stream the hub will accept from this key.
  const store = new CounterStore(resolve(dataDir, 'counter.db'));
  const deviceId = store.deviceId;
  store.close();
  try {
    const state = await enroll({
      dataDir,
      hubUrl,
      token,
      deviceId,
      appVersion: process.env.npm_package_version ?? '0.1.0',
      keyStore: new FileKeyStore(dataDir),
    });
    process.stdout.write(
      `enrolled ${state.device_id} as ${state.hall_id} / ${state.window_id} at ${state.hub_url}\n`,
    );
    return EXIT.ok;
  } catch (e) {
    if (e instanceof EnrollError) {
      process.stderr.write(`haocha enroll: the hub refused (${e.status} ${e.code}): ${e.message}\n`);
      return EXIT.failed;
    }
    throw e;
  }
}
