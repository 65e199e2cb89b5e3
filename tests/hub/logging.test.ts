import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ADMIN_TOKEN_FILE, buildHub, type Hub } from '../../hub/server.ts';
import { type DeviceKey, FileKeyStore } from '../../src-main/core/device-key.ts';
import { enroll, RequestSigner } from '../../src-main/core/enrollment.ts';
import { HUB_API } from '../../src-shared/index.ts';
import { batchOf, makeStream } from './records.ts';

let dir: string;
let hub: Hub;
let url: string;
let lines: Record<string, unknown>[];
let raw: string;

async function startLoggedHub(level: 'info' | 'debug'): Promise<void> {
  lines = [];
  raw = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      raw += chunk.toString();
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  hub = await buildHub({
    dataDir: join(dir, 'hub'),
    logger: { level, stream },
    requireSignatures: true,
    rateLimits: false,
  });
  await hub.app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(hub.app.server.address() as { port: number }).port}`;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-hublog-'));
});
afterEach(async () => {
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Makes an enrollment token with the admin token, enrolls `deviceId` with it, and signs as it. */
async function enrollDevice(deviceId: string) {
  const admin = readFileSync(join(dir, 'hub', ADMIN_TOKEN_FILE), 'utf8').trim();
  const made = await fetch(`${url}${HUB_API}/admin/enrollment-tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ hall_id: 'H1', window_id: 'W01' }),
  });
  const { token } = (await made.json()) as { token: string };
  const keyStore = new FileKeyStore(join(dir, 'ctr'));
  await enroll({ dataDir: join(dir, 'ctr'), hubUrl: url, token, deviceId, appVersion: '0.1.0', keyStore });
  const signer = new RequestSigner(deviceId, keyStore.load() as DeviceKey);
  return { admin, token, signer };
}

/** A one-rating upload of `deviceId`, signed by `signer`. */
async function signedUpload(signer: RequestSigner, deviceId: string) {
  const body = Buffer.from(JSON.stringify(batchOf(makeStream({ deviceId, count: 1 }), 1, 1)));
  const headers = await signer.headers('POST', `${url}${HUB_API}/ingest`, body, {
    'content-type': 'application/json',
  });
  return { body, headers };
}

it('logs JSON request lines without the admin token, signatures or enrollment tokens, and names the signing device', async () => {
  // debug: every request's lines (at info only refusals, failures and slow requests have them).
  await startLoggedHub('debug');
  const deviceId = 'ctr-log-1';
  const { admin, token, signer } = await enrollDevice(deviceId);
  // A second try with the spent token: refused, and logged as refused, still without the token.
  const again = await fetch(`${url}${HUB_API}/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      token,
      device_id: 'ctr-other',
      public_key: `${'A'.repeat(43)}=`,
      app_version: '1',
    }),
  });
  expect(again.status).toBe(401);

  const { body, headers } = await signedUpload(signer, deviceId);
  const up = await fetch(`${url}${HUB_API}/ingest`, { method: 'POST', headers, body: new Uint8Array(body) });
  expect(up.status).toBe(200);
  await hub.close();

  // Every line is JSON (parsed above); no secret appears anywhere in the output.
  expect(lines.length).toBeGreaterThan(6);
  const signature = headers.signature ?? headers.Signature;
  expect(signature).toBeTruthy();
  for (const secret of [admin, token, String(signature)]) expect(raw).not.toContain(secret);
  // The headers are there, redacted: a reader sees a request was authenticated.
  const incoming = lines.filter((l) => l.msg === 'incoming request') as {
    req: { url: string; headers: Record<string, string> };
  }[];
  const adminLine = incoming.find((l) => l.req.url.endsWith('/enrollment-tokens'));
  expect(adminLine?.req.headers.authorization).toBe('[Redacted]');
  const ingestLine = incoming.find((l) => l.req.url.endsWith('/ingest'));
  expect(ingestLine?.req.headers.signature).toBe('[Redacted]');
  expect(ingestLine?.req.headers['signature-input']).toBe('[Redacted]');
  // After device trust, the request's lines carry the device id, "request completed" included.
  const completed = lines.filter((l) => l.msg === 'request completed');
  const ingestDone = completed.find((l) => l.reqId === (ingestLine as unknown as { reqId: string }).reqId);
  expect(ingestDone?.device_id).toBe(deviceId);
});

it('at info, logs no line for a request that succeeded, and a refused one as a warn line that says what it was', async () => {
  await startLoggedHub('info');
  const deviceId = 'ctr-log-2';
  const { admin, token, signer } = await enrollDevice(deviceId);
  const { body, headers } = await signedUpload(signer, deviceId);
  const post = (h: Record<string, string>) =>
    fetch(`${url}${HUB_API}/ingest`, { method: 'POST', headers: h, body: new Uint8Array(body) });
  expect((await post(headers)).status).toBe(200);
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  // The same signed request again: its nonce is spent, a replay.
  expect((await post(headers)).status).toBe(401);
  // No signature at all.
  expect((await post({ 'content-type': 'application/json' })).status).toBe(401);
  await hub.close();

  expect(lines.filter((l) => l.msg === 'incoming request')).toEqual([]);
  const completed = lines.filter((l) => l.msg === 'request completed') as {
    level: number;
    req: { method: string; url: string; headers: Record<string, string> };
    res: { statusCode: number };
    responseTime: number;
  }[];
  // Only the two refusals: the token, the enrollment, the upload and the probe that succeeded
  // (quickly) have no line at info.
  expect(completed.map((l) => [l.level, l.res.statusCode, l.req.method, l.req.url])).toEqual([
    [40, 401, 'POST', `${HUB_API}/ingest`],
    [40, 401, 'POST', `${HUB_API}/ingest`],
  ]);
  expect(completed[0]?.req.headers.signature).toBe('[Redacted]');
  expect(typeof completed[0]?.responseTime).toBe('number');
  for (const secret of [admin, token, String(headers.signature)]) expect(raw).not.toContain(secret);
});
