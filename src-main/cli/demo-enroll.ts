import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_TOKEN_FILE } from '../../hub/server.ts';
import { enrollmentTokenReplySchema } from '../../src-shared/enrollment.ts';
import { HUB_API } from '../../src-shared/index.ts';
import { FileKeyStore } from '../core/device-key.ts';
import { enroll, loadEnrollment } from '../core/enrollment.ts';
import { CounterStore } from '../core/store/counter-store.ts';

/**
 * The demo enrolls its counter with its hub the way IT staff would (a token made with the hub's
 * admin token, then `enroll`), so `npm start` runs the signed upload path with no manual step.
 * Idempotent: a counter the hub already knows with the same key is left as it is.
 */
export async function enrollDemoCounter(opts: {
  hubUrl: string;
  hubDir: string;
  counterDir: string;
  hallId: string;
  windowId: string;
}): Promise<'enrolled' | 'already'> {
  const store = new CounterStore(join(opts.counterDir, 'counter.db'));
  const deviceId = store.deviceId;
  store.close();
  const admin = readFileSync(join(opts.hubDir, ADMIN_TOKEN_FILE), 'utf8').trim();
  const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
  const known = loadEnrollment(opts.counterDir);
  if (known) {
    const res = await fetch(`${opts.hubUrl}${HUB_API}/admin/devices`, { headers });
    const { devices } = (await res.json()) as {
      devices: { device_id: string; public_key: string; revoked_at: string | null }[];
    };
    const here = devices.find((d) => d.device_id === deviceId);
    if (here && here.public_key === known.public_key && !here.revoked_at) return 'already';
    // The demo's hub data was reset (or the device revoked): enroll afresh.
    rmSync(join(opts.counterDir, 'enrollment.json'), { force: true });
  }
  if (existsSync(join(opts.counterDir, 'device-key.pem'))) {
    // A key the hub knows under no device (its data was reset) would be refused as taken only if
    // still registered; a fresh key keeps the demo simple either way.
    rmSync(join(opts.counterDir, 'device-key.pem'), { force: true });
  }
  const res = await fetch(`${opts.hubUrl}${HUB_API}/admin/enrollment-tokens`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ hall_id: opts.hallId, window_id: opts.windowId, ttl_s: 600 }),
  });
  if (res.status !== 201)
    throw new Error(`demo hub refused an enrollment token: ${res.status} ${await res.text()}`);
  const { token } = enrollmentTokenReplySchema.parse(await res.json());
  await enroll({
    dataDir: opts.counterDir,
    hubUrl: opts.hubUrl,
    token,
    deviceId,
    appVersion: process.env.npm_package_version ?? '0.1.0',
    keyStore: new FileKeyStore(opts.counterDir),
  });
  return 'enrolled';
}
