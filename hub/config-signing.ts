import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { loadOrCreatePrivateFile } from '../src-shared/secret-file.ts';
import { exportPublicKey } from '../src-shared/signing.ts';

/** The hub's config-signing key (PKCS#8 PEM, 0600) in its data directory. */
export const HUB_SIGNING_KEY_FILE = 'hub-signing-key.pem';

export interface HubSigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** base64 of the raw 32-byte public key: what counters learn at enrollment. */
  publicKeyB64: string;
  path: string;
}

/**
 * Made on the hub's first start and read on every later one, like the admin token
 * (src-shared/secret-file.ts): `wx` so two starts racing cannot each write a different key.
 */
export function loadOrCreateHubSigningKey(dataDir: string): HubSigningKey {
  const file = loadOrCreatePrivateFile(
    dataDir,
    HUB_SIGNING_KEY_FILE,
    () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  );
  const { path } = file;
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(file.text);
  } catch (e) {
    throw new Error(
      `${path} holds no usable key (${(e as Error).message}): restore it from backup; a new key means re-enrolling every counter`,
    );
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${path} is not an Ed25519 key`);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, publicKeyB64: exportPublicKey(publicKey), path };
}
