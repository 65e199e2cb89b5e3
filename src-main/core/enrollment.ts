import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type EnrollmentState,
  type EnrollRequest,
  enrollmentStateSchema,
  enrollReplySchema,
} from '../../src-shared/enrollment.ts';
import { HUB_API } from '../../src-shared/index.ts';
import { exportPublicKey, signRequest } from '../../src-shared/signing.ts';
import { type DeviceKey, type DeviceKeyStore, loadOrCreateDeviceKey } from './device-key.ts';

const STATE_FILE = 'enrollment.json';

export function loadEnrollment(dataDir: string): EnrollmentState | null {
  const path = join(dataDir, STATE_FILE);
  if (!existsSync(path)) return null;
  const parsed = enrollmentStateSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success)
    throw new Error(`${path} is damaged: ${parsed.error.issues[0]?.message}; enroll again`);
  return parsed.data;
}

function saveEnrollment(dataDir: string, state: EnrollmentState): void {
  const path = join(dataDir, STATE_FILE);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

export class EnrollError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'EnrollError';
  }
}

/**
 * Enrolls this counter with the hub once, with the token IT staff made there. The key pair is
 * made here (or reused if an earlier attempt made it), so the private key never travels.
 */
export async function enroll(opts: {
  dataDir: string;
  hubUrl: string;
  token: string;
  deviceId: string;
  appVersion: string;
  keyStore: DeviceKeyStore;
  fetchImpl?: typeof fetch;
}): Promise<EnrollmentState> {
  const { key } = loadOrCreateDeviceKey(opts.keyStore);
  const hubUrl = opts.hubUrl.replace(/\/+$/, '');
  const body: EnrollRequest = {
    token: opts.token.trim(),
    device_id: opts.deviceId,
    public_key: exportPublicKey(key.publicKey),
    app_version: opts.appVersion,
  };
  const res = await (opts.fetchImpl ?? fetch)(`${hubUrl}${HUB_API}/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // reported below with the status
  }
  if (!res.ok) {
    const e = (json ?? {}) as { code?: string; message?: string };
    throw new EnrollError(res.status, e.code ?? 'HTTP_ERROR', e.message ?? `hub answered ${res.status}`);
  }
  const reply = enrollReplySchema.parse(json);
  const state: EnrollmentState = {
    hub_url: hubUrl,
    device_id: reply.device_id,
    hall_id: reply.hall_id,
    window_id: reply.window_id,
    enrolled_at: reply.enrolled_at,
    public_key: body.public_key,
    ...(reply.hub_public_key ? { hub_public_key: reply.hub_public_key } : {}),
  };
  saveEnrollment(opts.dataDir, state);
  return state;
}

/**
 * Signs the counter's requests to the hub. Keeps the offset between the hub's clock and ours,
 * learnt from a CLOCK_SKEW answer's server_time, so a counter with a wrong clock re-signs with
 * the hub's time instead of being refused forever (it never changes the recorded rating times).
 */
export class RequestSigner {
  private offsetMs = 0;

  constructor(
    readonly deviceId: string,
    private readonly key: DeviceKey,
    private readonly now: () => Date = () => new Date(),
  ) {}

  clockOffsetMs(): number {
    return this.offsetMs;
  }

  /** Called with the hub's server_time from a reply: the next signature uses the corrected clock. */
  learnServerTime(serverTime: string, sentAt: Date = this.now()): void {
    const t = Date.parse(serverTime);
    if (Number.isFinite(t)) this.offsetMs = t - sentAt.getTime();
  }

  async headers(
    method: string,
    url: string,
    body: Uint8Array,
    base: Record<string, string>,
  ): Promise<Record<string, string>> {
    return signRequest(
      { method, url, headers: base, body },
      { deviceId: this.deviceId, privateKey: this.key.privateKey },
      new Date(this.now().getTime() + this.offsetMs),
    );
  }
}
