/**
 * Signing and verifying config bundles with the hub's Ed25519 key (node:crypto, so node-only:
 * not re-exported from index.ts). Ed25519 signatures are deterministic (RFC 8032), so the same
 * bundle always gets the same signature and the hub's ETag stays stable.
 */
import { createHash, type KeyObject, sign, verify } from 'node:crypto';
import { type ConfigBundle, signingInput } from './config-bundle.ts';
import { exportPublicKey, importPublicKey } from './signing.ts';

/** Short name of a public key (base64 raw 32 bytes) for logs and the bundle's key_id. */
export function keyIdOf(publicKeyB64: string): string {
  return createHash('sha256').update(Buffer.from(publicKeyB64, 'base64')).digest('hex').slice(0, 16);
}

export function signBundle(
  unsigned: Omit<ConfigBundle, 'signature'>,
  privateKey: KeyObject,
  publicKey: KeyObject,
): ConfigBundle {
  const value = sign(null, Buffer.from(signingInput(unsigned), 'utf8'), privateKey).toString('base64');
  return {
    ...unsigned,
    signature: { alg: 'ed25519', key_id: keyIdOf(exportPublicKey(publicKey)), value },
  };
}

export type BundleVerifyResult = { ok: true } | { ok: false; reason: string };

/**
 * Checks a bundle as received (parsed JSON, before schema defaults are applied: they would change
 * the signed text) against the hub's public key (base64 raw).
 */
export function verifyBundle(raw: unknown, hubPublicKeyB64: string): BundleVerifyResult {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    return { ok: false, reason: 'bundle is not an object' };
  const sig = (raw as { signature?: unknown }).signature as
    | { alg?: unknown; value?: unknown }
    | null
    | undefined;
  if (!sig || typeof sig !== 'object') return { ok: false, reason: 'bundle is not signed' };
  if (sig.alg !== 'ed25519' || typeof sig.value !== 'string')
    return { ok: false, reason: 'bundle signature must be ed25519 with a base64 value' };
  let key: KeyObject;
  try {
    key = importPublicKey(hubPublicKeyB64);
  } catch (e) {
    return { ok: false, reason: `hub public key unusable: ${(e as Error).message}` };
  }
  const value = Buffer.from(sig.value, 'base64');
  // Canonical base64 only: Node's decoder ignores stray bits, so two texts could carry one signature.
  if (value.length !== 64 || value.toString('base64') !== sig.value)
    return { ok: false, reason: 'bundle signature is not 64 bytes of canonical base64' };
  const keyId = (sig as { key_id?: unknown }).key_id;
  if (keyId !== keyIdOf(hubPublicKeyB64))
    return {
      ok: false,
      reason: `bundle signed by key ${String(keyId)}, not this hub's (${keyIdOf(hubPublicKeyB64)})`,
    };
  const good = verify(null, Buffer.from(signingInput(raw as Record<string, unknown>), 'utf8'), key, value);
  return good ? { ok: true } : { ok: false, reason: 'bundle signature does not verify with the hub key' };
}
