import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HUB_SIGNING_KEY_FILE } from '../../hub/config-signing.ts';
import { startHub } from '../../hub/server.ts';
import { FileKeyStore } from '../../src-main/core/device-key.ts';
import { enroll, RequestSigner } from '../../src-main/core/enrollment.ts';
import { ADMIN_CONFIG_PATH, CONFIG_PATH, configBundleSchema } from '../../src-shared/config-bundle.ts';
import { verifyBundle } from '../../src-shared/config-signing.ts';
import { testDb } from '../hub/harness.ts';
import { adminTokenOf, content, HALL, makeEnrollmentToken, publish, WINDOW } from './fixture.ts';

let dir: string;
let hub: { url: string; close(): Promise<void> };
let admin: string;
/** The hub's database: SQLite in the hub dir, or a fresh PostgreSQL schema in the hub-postgres project. */
let db: string | undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-cfg-hub-'));
  db = await testDb();
  hub = await startHub({ dataDir: join(dir, 'hub'), db, port: 0, logger: false, requireSignatures: true });
  admin = adminTokenOf(join(dir, 'hub'));
});
afterEach(async () => {
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

async function enrolledSigner() {
  const ctrDir = join(dir, 'counter');
  const keyStore = new FileKeyStore(ctrDir);
  const state = await enroll({
    dataDir: ctrDir,
    hubUrl: hub.url,
    token: await makeEnrollmentToken(hub.url, admin),
    deviceId: 'ctr-0190a1b2-0000-7000-8000-00000000c0f1',
    appVersion: '0.1.0',
    keyStore,
  });
  const key = keyStore.load();
  if (!key) throw new Error('no key');
  return { state, signer: new RequestSigner(state.device_id, key) };
}

async function deviceGet(signer: RequestSigner, extra: Record<string, string> = {}) {
  const url = `${hub.url}${CONFIG_PATH}`;
  const headers = await signer.headers('GET', url, new Uint8Array(), extra);
  return fetch(url, { headers });
}

describe('hub config bundles', () => {
  it('makes its signing key once, 0600, and tells it to counters at enrollment', async () => {
    const keyFile = join(dir, 'hub', HUB_SIGNING_KEY_FILE);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const { state } = await enrolledSigner();
    expect(state.hub_public_key).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    // A restart keeps the key: enrolled counters go on verifying.
    const before = statSync(keyFile).mtimeMs;
    await hub.close();
    hub = await startHub({ dataDir: join(dir, 'hub'), db, port: 0, logger: false, requireSignatures: true });
    expect(statSync(keyFile).mtimeMs).toBe(before);
  });

  it('the admin API refuses without the token and refuses invalid content with a clear error', async () => {
    expect((await publish(hub.url, null, content())).status).toBe(401);
    expect((await publish(hub.url, 'wrong-token-wrong-token-wrong-token', content())).status).toBe(401);
    const noHistory = await fetch(`${hub.url}${ADMIN_CONFIG_PATH}/history`);
    expect(noHistory.status).toBe(401);

    const bad = content();
    bad.roster[0] = { ...bad.roster[0], pin_hash: '246810' } as (typeof bad.roster)[0];
    const refused = await publish(hub.url, admin, bad);
    expect(refused.status).toBe(400);
    expect(refused.body.message).toBe(
      'config refused: roster.0.pin_hash: must be an argon2 hash (haocha hash-pin)',
    );
    const dangling = content();
    dangling.windows[0] = { ...dangling.windows[0], pad_profile: 'missing' } as (typeof dangling.windows)[0];
    const refused2 = await publish(hub.url, admin, dangling);
    expect(refused2.status).toBe(400);
    expect(refused2.body.message).toContain('no pad profile missing in pad_profiles');
    // Nothing was stored.
    const current = await fetch(`${hub.url}${ADMIN_CONFIG_PATH}`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(current.status).toBe(404);
  });

  it('publishes numbered versions, signed; history newest first', async () => {
    const v1 = await publish(hub.url, admin, content('A'));
    expect(v1.status).toBe(201);
    expect(v1.body).toMatchObject({ seq: 1, version: expect.stringMatching(/^\d{4}\.\d{2}\.\d{2}-1$/) });
    const v2 = await publish(hub.url, admin, content('B'), 'POST');
    expect(v2.body).toMatchObject({ seq: 2 });
    const hist = (await (
      await fetch(`${hub.url}${ADMIN_CONFIG_PATH}/history`, { headers: { authorization: `Bearer ${admin}` } })
    ).json()) as { versions: { seq: number }[] };
    expect(hist.versions.map((v) => v.seq)).toEqual([2, 1]);

    const { state } = await enrolledSigner();
    const current = await (
      await fetch(`${hub.url}${ADMIN_CONFIG_PATH}`, { headers: { authorization: `Bearer ${admin}` } })
    ).json();
    expect(verifyBundle(current, state.hub_public_key as string)).toEqual({ ok: true });
    const bundle = configBundleSchema.parse(current);
    expect(bundle.scope).toEqual({ hall_id: null, window_id: null });
    expect(bundle.content.windows[0]?.window_name).toBe('B');
    expect(bundle.content.halls).toHaveLength(2);
  });

  it('a device gets its own window, signed, with a strong ETag; If-None-Match gives 304 until a new version', async () => {
    const { state, signer } = await enrolledSigner();
    expect((await deviceGet(signer)).status).toBe(404); // nothing published yet
    await publish(hub.url, admin, content('A'));
    const res = await deviceGet(signer);
    expect(res.status).toBe(200);
    const etag = res.headers.get('etag');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    const raw = await res.json();
    expect(verifyBundle(raw, state.hub_public_key as string)).toEqual({ ok: true });
    const bundle = configBundleSchema.parse(raw);
    expect(bundle.scope).toEqual({ hall_id: HALL, window_id: WINDOW });
    // Narrowed: this hall only, and no other hall's staff (their PIN hashes stay at the hub).
    expect(bundle.content.halls.map((h) => h.hall_id)).toEqual([HALL]);
    expect(bundle.content.windows).toHaveLength(1);
    expect(bundle.content.roster.map((s) => s.staff_no)).toEqual(['090317']);

    const same = await deviceGet(signer, { 'if-none-match': etag as string });
    expect(same.status).toBe(304);
    expect(await same.text()).toBe('');
    expect((await deviceGet(signer, { 'if-none-match': `W/${etag}, "other"` })).status).toBe(304);

    await publish(hub.url, admin, content('B'));
    const changed = await deviceGet(signer, { 'if-none-match': etag as string });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(configBundleSchema.parse(await changed.json()).seq).toBe(2);
  });

  it('an unsigned device request is refused on a hub that requires signatures', async () => {
    await publish(hub.url, admin, content());
    const res = await fetch(`${hub.url}${CONFIG_PATH}?hall_id=${HALL}&window_id=${WINDOW}`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe('UNSIGNED');
  });
});
