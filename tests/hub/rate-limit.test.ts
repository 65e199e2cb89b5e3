import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_RATE_LIMITS, type HubRateLimits } from '../../hub/rate-limit.ts';
import { ADMIN_TOKEN_FILE, buildHub, type Hub } from '../../hub/server.ts';
import { type DeviceKey, FileKeyStore } from '../../src-main/core/device-key.ts';
import { enroll, RequestSigner } from '../../src-main/core/enrollment.ts';
import { HUB_API, hubErrorSchema } from '../../src-shared/index.ts';
import { batchOf, makeStream } from './records.ts';

let dir: string;
let hub: Hub;
let url: string;

const LIMITS: HubRateLimits = {
  ...DEFAULT_RATE_LIMITS,
  device: { max: 3, windowMs: 60_000 },
  enroll: { max: 4, windowMs: 60_000 },
};

async function start(limits: HubRateLimits, requireSignatures = true, now?: () => Date) {
  hub = await buildHub({
    dataDir: join(dir, 'hub'),
    logger: false,
    requireSignatures,
    rateLimits: limits,
    ...(now ? { now } : {}),
  });
  await hub.app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(hub.app.server.address() as { port: number }).port}`;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-ratelimit-'));
});
afterEach(async () => {
  await hub?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function token(): Promise<string> {
  const admin = readFileSync(join(dir, 'hub', ADMIN_TOKEN_FILE), 'utf8').trim();
  const res = await fetch(`${url}${HUB_API}/admin/enrollment-tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ hall_id: 'H1', window_id: 'W01' }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

/** A really enrolled counter: its own key file, enrolled at the hub, signing each upload. */
async function counter(deviceId: string) {
  const dataDir = join(dir, deviceId);
  const keyStore = new FileKeyStore(dataDir);
  await enroll({ dataDir, hubUrl: url, token: await token(), deviceId, appVersion: '0.1.0', keyStore });
  const signer = new RequestSigner(deviceId, keyStore.load() as DeviceKey);
  const stream = makeStream({ deviceId, count: 10 });
  return {
    /** Uploads item `seq`; `signedFor` signs other bytes than those sent (a forgery). */
    async upload(seq: number, signedFor?: Buffer) {
      const body = Buffer.from(JSON.stringify(batchOf(stream, seq, seq)));
      const headers = await signer.headers('POST', `${url}${HUB_API}/ingest`, signedFor ?? body, {
        'content-type': 'application/json',
      });
      const res = await fetch(`${url}${HUB_API}/ingest`, {
        method: 'POST',
        headers,
        body: new Uint8Array(body),
      });
      return { status: res.status, retryAfter: res.headers.get('retry-after'), json: await res.json() };
    },
  };
}

describe('rate limits per device', () => {
  it('refuses the N+1th upload of one device with 429, Retry-After and the hub error body; another device still gets through', async () => {
    await start(LIMITS);
    const a = await counter('ctr-a');
    const b = await counter('ctr-b');
    for (let seq = 1; seq <= 3; seq++) expect((await a.upload(seq)).status).toBe(200);
    const refused = await a.upload(4);
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    const body = hubErrorSchema.parse(refused.json);
    expect(body).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED', error: 'Too Many Requests' });
    // Device b has its own budget, from the same IP.
    expect((await b.upload(1)).status).toBe(200);
  });

  it('counts unsigned uploads (hub allowing them) by the device they name, not by the shared IP', async () => {
    await start(LIMITS, false);
    const streams = new Map(['ctr-u1', 'ctr-u2'].map((id) => [id, makeStream({ deviceId: id, count: 10 })]));
    const post = async (deviceId: string, seq: number) => {
      const stream = streams.get(deviceId) ?? [];
      const res = await fetch(`${url}${HUB_API}/ingest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(batchOf(stream, seq, seq)),
      });
      return res.status;
    };
    for (let seq = 1; seq <= 3; seq++) expect(await post('ctr-u1', seq)).toBe(200);
    expect(await post('ctr-u1', 4)).toBe(429);
    expect(await post('ctr-u2', 1)).toBe(200);
  });

  it('after N requests refused by the signature check, an IP gets 429 before any check until the window ends', async () => {
    // The hub's clock, moved by the test (within the ±300 s a signature may be off).
    let clock = Date.now();
    await start(
      { ...LIMITS, device: { max: 100, windowMs: 60_000 }, refused: { max: 3, windowMs: 60_000 } },
      true,
      () => new Date(clock),
    );
    const good = await counter('ctr-good');
    // Signed for one body, sent with another: Content-Digest does not match (401 BAD_DIGEST).
    const forged = () => good.upload(1, Buffer.from('{}'));
    for (let i = 0; i < 3; i++) expect((await forged()).status).toBe(401);
    const blocked = await forged();
    expect(blocked.status).toBe(429);
    expect(hubErrorSchema.parse(blocked.json)).toMatchObject({ code: 'RATE_LIMITED' });
    expect(Number(blocked.retryAfter)).toBeGreaterThan(0);
    // The same address's good requests wait too (nothing is looked up or verified for it now)...
    expect((await good.upload(1)).status).toBe(429);
    // ...and are heard again once the window has passed.
    clock += 60_000;
    expect((await good.upload(1)).status).toBe(200);
  });

  it('limits enrollment attempts per IP, stricter than uploads', async () => {
    await start(LIMITS);
    const attempt = () =>
      fetch(`${url}${HUB_API}/enroll`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          token: 'x'.repeat(32),
          device_id: 'ctr-guess',
          public_key: `${'A'.repeat(43)}=`,
          app_version: '0.1.0',
        }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await attempt()).status);
    expect(statuses.slice(0, 4).every((s) => s !== 429)).toBe(true);
    expect(statuses[4]).toBe(429);
    expect(DEFAULT_RATE_LIMITS.enroll.max / DEFAULT_RATE_LIMITS.enroll.windowMs).toBeLessThan(
      DEFAULT_RATE_LIMITS.device.max / DEFAULT_RATE_LIMITS.device.windowMs,
    );
  });
});

describe('body limits', () => {
  it('answers an oversized enrollment or admin body with 413 in the hub error shape', async () => {
    await start(LIMITS);
    const big = JSON.stringify({ token: 'x'.repeat(8 * 1024) });
    for (const path of [`${HUB_API}/enroll`, `${HUB_API}/admin/enrollment-tokens`]) {
      const res = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: big,
      });
      expect(res.status).toBe(413);
      expect(hubErrorSchema.parse(await res.json())).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    }
  });
});
