import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, HUB_SIGNING_KEY_FILE);
  try {
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, {
      mode: 0o600,
      flag: 'wx',
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  if (process.platform !== 'win32') {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) {
      chmodSync(path, 0o600);
      process.emitWarning(`${path} was readable by others (mode ${mode.toString(8)}); set to 0600`);
    }
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(
      `${path} holds no usable key (${(e as Error).message}): restore it from backup; a new key means re-enrolling every counter`,
    );
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${path} is not an Ed25519 key`);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, publicKeyB64: exportPublicKey(publicKey), path };
}
