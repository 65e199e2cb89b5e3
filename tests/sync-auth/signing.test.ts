import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CLOCK_WINDOW_S,
  exportPublicKey,
  importPublicKey,
  signRequest,
  type VerifyOptions,
  verifyRequest,
} from '../../src-shared/signing.ts';

const device = 'ctr-0190a1b2-0000-7000-8000-000000000001';
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const url = 'http://127.0.0.1:8700/api/v1/ingest?x=1';
const body = Buffer.from(JSON.stringify({ device_id: device, items: [] }));
const now = new Date('2026-11-26T03:00:00Z');

function opts(over: Partial<VerifyOptions> = {}): VerifyOptions {
  const seen = new Set<string>();
  return {
    publicKeyOf: (id) => (id === device ? publicKey : null),
    spendNonce: (id, n) => {
      const k = `${id} ${n}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    },
    now,
    ...over,
  };
}

async function signed(at = now, key = privateKey, keyId = device) {
  const headers = await signRequest(
    { method: 'POST', url, headers: { 'content-type': 'application/json' }, body },
    { deviceId: keyId, privateKey: key },
    at,
  );
  return { method: 'POST', url, headers, body };
}

describe('request signatures', () => {
  it('verifies a signed request once and refuses its replay', async () => {
    const o = opts();
    const req = await signed();
    expect(req.headers['signature-input']).toMatch(
      /^haocha=\("@method" "@path" "@query" "content-digest"\);created=\d+;nonce="[^"]+";keyid="ctr-[^"]+";alg="ed25519"$/,
    );
    expect(await verifyRequest(req, o)).toMatchObject({ ok: true, deviceId: device });
    expect(await verifyRequest(req, o)).toMatchObject({ ok: false, reason: 'replayed' });
  });

  it('names what is wrong: unsigned, tampered body, other path, unknown device, wrong key, skewed clock', async () => {
    const req = await signed();
    expect(
      await verifyRequest({ ...req, headers: { 'content-type': 'application/json' } }, opts()),
    ).toMatchObject({
      reason: 'unsigned',
    });
    expect(await verifyRequest({ ...req, body: Buffer.from('{"items":[1]}') }, opts())).toMatchObject({
      reason: 'bad_digest',
    });
    expect(
      await verifyRequest({ ...req, url: 'http://127.0.0.1:8700/api/v1/heartbeat?x=1' }, opts()),
    ).toMatchObject({
      reason: 'bad_signature',
    });
    expect(await verifyRequest({ ...req, method: 'PUT' }, opts())).toMatchObject({ reason: 'bad_signature' });
    expect(await verifyRequest(await signed(now, privateKey, 'ctr-stranger'), opts())).toMatchObject({
      reason: 'unknown_device',
    });
    expect(await verifyRequest(await signed(now, other.privateKey), opts())).toMatchObject({
      reason: 'bad_signature',
    });
    const late = await signed(new Date(now.getTime() - (CLOCK_WINDOW_S + 5) * 1000));
    expect(await verifyRequest(late, opts())).toMatchObject({ reason: 'clock_skew' });
    const early = await signed(new Date(now.getTime() + (CLOCK_WINDOW_S - 5) * 1000));
    expect(await verifyRequest(early, opts())).toMatchObject({ ok: true });
  });

  it('a forged request does not spend the real nonce', async () => {
    const o = opts();
    const req = await signed();
    const forged = { ...req, body: Buffer.from('{}') };
    forged.headers = { ...req.headers, 'content-digest': `sha-256=:${Buffer.alloc(32).toString('base64')}:` };
    expect((await verifyRequest(forged, o)).ok).toBe(false);
    expect(await verifyRequest(req, o)).toMatchObject({ ok: true });
  });

  it('property: any single flipped body byte or signature byte is refused', async () => {
    const req = await signed();
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.boolean(),
        async (pos, flip, inBody) => {
          const o = opts();
          if (inBody) {
            const b = Buffer.from(req.body);
            const i = pos % b.length;
            b[i] = (b[i] as number) ^ flip;
            return !(await verifyRequest({ ...req, body: b }, o)).ok;
          }
          const sig = req.headers.signature as string;
          const raw = Buffer.from(sig.slice('haocha=:'.length, -1), 'base64');
          const i = pos % raw.length;
          raw[i] = (raw[i] as number) ^ flip;
          const headers = { ...req.headers, signature: `haocha=:${raw.toString('base64')}:` };
          return !(await verifyRequest({ ...req, headers }, o)).ok;
        },
      ),
      { numRuns: 100 },
    );
  });

  it('public keys travel as 32 raw bytes in base64', () => {
    const raw = exportPublicKey(publicKey);
    expect(Buffer.from(raw, 'base64')).toHaveLength(32);
    expect(exportPublicKey(importPublicKey(raw))).toBe(raw);
    expect(() => importPublicKey('AAAA')).toThrow(/32 bytes/);
  });
});
