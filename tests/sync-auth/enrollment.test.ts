import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN_FILE, startHub } from '../../hub/server.ts';
import {
  type DeviceKey,
  FileKeyStore,
  loadOrCreateDeviceKey,
  SafeStorageKeyStore,
} from '../../src-main/core/device-key.ts';
import { EnrollError, enroll, loadEnrollment, RequestSigner } from '../../src-main/core/enrollment.ts';
import { HUB_API } from '../../src-shared/index.ts';
import { openTestStore, testDb } from '../hub/harness.ts';
import { batchOf, makeStream } from '../hub/records.ts';

let dir: string;
let hub: { url: string; close(): Promise<void> };
let adminToken: string;
const hubDir = () => join(dir, 'hub');
const counterDir = () => join(dir, 'counter');
/** The hub's database: SQLite in hubDir(), or a fresh PostgreSQL schema in the hub-postgres project. */
let db: string | undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-trust-'));
  db = await testDb();
  hub = await startHub({ dataDir: hubDir(), db, port: 0, logger: false, requireSignatures: true });
  adminToken = readFileSync(join(hubDir(), ADMIN_TOKEN_FILE), 'utf8').trim();
});
afterEach(async () => {
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

async function makeToken(ttl_s?: number): Promise<string> {
  const res = await fetch(`${hub.url}${HUB_API}/admin/enrollment-tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ hall_id: 'DIV9-T12', window_id: 'W01', ...(ttl_s ? { ttl_s } : {}) }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

const DEVICE = 'ctr-0190a1b2-0000-7000-8000-0000000000aa';

async function enrolled(): Promise<{ key: DeviceKey; signer: RequestSigner }> {
  const keyStore = new FileKeyStore(counterDir());
  const token = await makeToken();
  await enroll({
    dataDir: counterDir(),
    hubUrl: hub.url,
    token,
    deviceId: DEVICE,
    appVersion: '0.1.0',
    keyStore,
  });
  const key = keyStore.load() as DeviceKey;
  return { key, signer: new RequestSigner(DEVICE, key) };
}

const stream = makeStream({ deviceId: DEVICE, count: 5 });
function batch(seq = 1) {
  return batchOf(stream, seq, seq);
}

async function post(body: Buffer, headers: Record<string, string>) {
  const res = await fetch(`${hub.url}${HUB_API}/ingest`, {
    method: 'POST',
    headers,
    body: new Uint8Array(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function signedPost(signer: RequestSigner, payload: unknown, gzip = false) {
  const raw = Buffer.from(JSON.stringify(payload));
  const body = gzip ? gzipSync(raw) : raw;
  const base: Record<string, string> = { 'content-type': 'application/json' };
  if (gzip) base['content-encoding'] = 'gzip';
  const headers = await signer.headers('POST', `${hub.url}${HUB_API}/ingest`, body, base);
  return { res: await post(body, headers), headers, body };
}

async function storedCount(): Promise<number> {
  await hub.close();
  const store = await openTestStore(hubDir(), db);
  const n = (await store.summary()).ratings;
  await store.close();
  hub = await startHub({ dataDir: hubDir(), db, port: 0, logger: false, requireSignatures: true });
  return n;
}

describe('enrollment and signed uploads', () => {
  it('enrolls once with a token, keeps the key 0600, and uploads signed batches (plain and gzip)', async () => {
    const { signer } = await enrolled();
    expect(loadEnrollment(counterDir())).toMatchObject({
      device_id: DEVICE,
      hall_id: 'DIV9-T12',
      window_id: 'W01',
    });
    expect(statSync(join(counterDir(), 'device-key.pem')).mode & 0o777).toBe(0o600);
    const first = await signedPost(signer, batch(1));
    expect(first.res).toMatchObject({ status: 200, body: { ack_through_seq: 1 } });
    const second = await signedPost(signer, batch(2), true);
    expect(second.res).toMatchObject({ status: 200, body: { ack_through_seq: 2 } });
  });

  it('a token works once, and an expired or unknown token not at all', async () => {
    const token = await makeToken();
    const keyStore = new FileKeyStore(counterDir());
    await enroll({
      dataDir: counterDir(),
      hubUrl: hub.url,
      token,
      deviceId: DEVICE,
      appVersion: '1',
      keyStore,
    });
    const other = join(dir, 'other');
    const again = enroll({
      dataDir: other,
      hubUrl: hub.url,
      token,
      deviceId: 'ctr-other',
      appVersion: '1',
      keyStore: new FileKeyStore(other),
    });
    await expect(again).rejects.toMatchObject({ status: 401, code: 'ENROLLMENT_TOKEN_INVALID' });
    await expect(
      enroll({
        dataDir: other,
        hubUrl: hub.url,
        token: 'x'.repeat(32),
        deviceId: 'ctr-other',
        appVersion: '1',
        keyStore: new FileKeyStore(other),
      }),
    ).rejects.toBeInstanceOf(EnrollError);
    // The same device id cannot enroll a second key (a clone taking over the stream).
    const t2 = await makeToken();
    await expect(
      enroll({
        dataDir: other,
        hubUrl: hub.url,
        token: t2,
        deviceId: DEVICE,
        appVersion: '1',
        keyStore: new FileKeyStore(other),
      }),
    ).rejects.toMatchObject({ status: 409, code: 'DEVICE_ALREADY_ENROLLED' });
  });

  it('refuses unsigned, replayed, tampered, wrongly signed and other-device uploads, and stores nothing from them', async () => {
    const { signer } = await enrolled();
    const body = Buffer.from(JSON.stringify(batch(1)));
    expect(await post(body, { 'content-type': 'application/json' })).toMatchObject({
      status: 401,
      body: { code: 'UNSIGNED' },
    });
    const ok = await signedPost(signer, batch(1));
    expect(ok.res.status).toBe(200);
    // The very same request again: a replay.
    expect(await post(ok.body, ok.headers)).toMatchObject({ status: 401, body: { code: 'REPLAYED' } });
    // Tampered body under a good signature.
    const fresh = await signer.headers('POST', `${hub.url}${HUB_API}/ingest`, body, {
      'content-type': 'application/json',
    });
    const tampered = Buffer.from(JSON.stringify(batch(1)).replace('"seq":1', '"seq":2'));
    expect((await post(tampered, fresh)).body).toMatchObject({ code: 'BAD_DIGEST' });
    // A key the hub does not know for this device.
    const { privateKey } = await import('node:crypto').then((c) => c.generateKeyPairSync('ed25519'));
    const forged = new RequestSigner(DEVICE, { privateKey, publicKey: privateKey });
    expect((await signedPost(forged, batch(2))).res.body).toMatchObject({
      code: 'BAD_SIGNATURE',
    });
    // Signed by an unenrolled device id.
    const stranger = new RequestSigner('ctr-stranger', { privateKey, publicKey: privateKey });
    expect((await signedPost(stranger, batch(2))).res.body).toMatchObject({ code: 'UNKNOWN_DEVICE' });
    // Signed by the device, but uploading another device's stream.
    const other = batchOf(makeStream({ deviceId: 'ctr-someone-else', count: 1 }), 1, 1);
    expect((await signedPost(signer, other)).res).toMatchObject({
      status: 403,
      body: { code: 'DEVICE_MISMATCH' },
    });
    expect(await storedCount()).toBe(1);
  });

  it('a skewed clock gets 401 with server time; re-signed with the offset it goes through', async () => {
    const keyStore = new FileKeyStore(counterDir());
    await enroll({
      dataDir: counterDir(),
      hubUrl: hub.url,
      token: await makeToken(),
      deviceId: DEVICE,
      appVersion: '1',
      keyStore,
    });
    const key = keyStore.load() as DeviceKey;
    // This counter's clock is 2 hours fast.
    const signer = new RequestSigner(DEVICE, key, () => new Date(Date.now() + 2 * 3600_000));
    const skewed = await signedPost(signer, batch(1));
    expect(skewed.res).toMatchObject({
      status: 401,
      body: { code: 'CLOCK_SKEW', server_time: expect.any(String) },
    });
    signer.learnServerTime(skewed.res.body.server_time as string);
    expect(Math.round(signer.clockOffsetMs() / 3600_000)).toBe(-2);
    expect((await signedPost(signer, batch(1))).res.status).toBe(200);
  });

  it('a revoked device is refused with 403 and keeps nothing new at the hub', async () => {
    const { signer } = await enrolled();
    const res = await fetch(`${hub.url}${HUB_API}/admin/devices/${DEVICE}/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: '终端丢失' }),
    });
    expect(res.status).toBe(200);
    expect((await signedPost(signer, batch(1))).res).toMatchObject({
      status: 403,
      body: { code: 'DEVICE_REVOKED' },
    });
    expect(await storedCount()).toBe(0);
  });

  it('admin endpoints need the admin token', async () => {
    const res = await fetch(`${hub.url}${HUB_API}/admin/enrollment-tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer wrong' },
      body: JSON.stringify({ hall_id: 'H', window_id: 'W' }),
    });
    expect(res.status).toBe(401);
    expect(statSync(join(hubDir(), ADMIN_TOKEN_FILE)).mode & 0o777).toBe(0o600);
  });
});

describe('device key stores', () => {
  it('the safeStorage store refuses the basic_text fallback and round-trips with a real backend', () => {
    const fake = (backend: string, available = true) => ({
      isEncryptionAvailable: () => available,
      getSelectedStorageBackend: () => backend,
      encryptString: (s: string) => Buffer.from(s, 'utf8').reverse(),
      decryptString: (b: Buffer) => Buffer.from(b).reverse().toString('utf8'),
    });
    expect(() => loadOrCreateDeviceKey(new SafeStorageKeyStore(dir, fake('basic_text')))).toThrow(
      /basic_text/,
    );
    expect(() => loadOrCreateDeviceKey(new SafeStorageKeyStore(dir, fake('gnome_libsecret', false)))).toThrow(
      /not available/,
    );
    const store = new SafeStorageKeyStore(dir, fake('gnome_libsecret'));
    const made = loadOrCreateDeviceKey(store);
    expect(made.created).toBe(true);
    expect(readFileSync(join(dir, 'device-key.enc'), 'latin1')).not.toMatch(/PRIVATE KEY/);
    const again = loadOrCreateDeviceKey(store);
    expect(again.created).toBe(false);
    expect(again.key.publicKey.export({ format: 'jwk' })).toEqual(
      made.key.publicKey.export({ format: 'jwk' }),
    );
  });
});
