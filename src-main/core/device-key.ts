import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The counter's Ed25519 key, generated on the device; the private half never leaves it. */
export interface DeviceKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** Where the private key lives: a 0600 file under the devhost, the OS keystore under Electron. */
export interface DeviceKeyStore {
  readonly kind: string;
  load(): DeviceKey | null;
  save(key: DeviceKey): void;
}

function fromPem(pem: string): DeviceKey {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('device key is not Ed25519');
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

function toPem(key: DeviceKey): string {
  return key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** Written whole or not at all: a half-written key would lock the counter out of its hub. */
function writeAtomic(path: string, data: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, data, { mode: 0o600 });
  renameSync(tmp, path);
}

/** The devhost's key store: PKCS#8 PEM in DATA/device-key.pem, mode 0600 (tightened if looser). */
export class FileKeyStore implements DeviceKeyStore {
  readonly kind = 'file';
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, 'device-key.pem');
  }

  load(): DeviceKey | null {
    if (!existsSync(this.path)) return null;
    if (process.platform !== 'win32' && (statSync(this.path).mode & 0o077) !== 0) {
      process.emitWarning(`${this.path} was readable by others; made it 0600`);
      chmodSync(this.path, 0o600);
    }
    return fromPem(readFileSync(this.path, 'utf8'));
  }

  save(key: DeviceKey): void {
    writeAtomic(this.path, toPem(key));
  }
}

/** What the key store needs of Electron's safeStorage (a parameter, so it is testable without Electron). */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  /** Linux only: which secret store backs it; `basic_text` means a hard-coded password. */
  getSelectedStorageBackend?: () => string;
  encryptString(plain: string): Buffer;
  decryptString(encrypted: Buffer): string;
}

/**
 * Electron's key store: the PEM encrypted by safeStorage (DPAPI, Keychain, libsecret/kwallet) in
 * DATA/device-key.enc. Refuses to work without real encryption, including Linux's `basic_text`
 * fallback, which would be no better than a plain file dressed up as protected (architecture.md).
 */
export class SafeStorageKeyStore implements DeviceKeyStore {
  readonly kind = 'safeStorage';
  readonly path: string;

  constructor(
    dataDir: string,
    private readonly safe: SafeStorageLike,
  ) {
    this.path = join(dataDir, 'device-key.enc');
  }

  private check(): void {
    if (!this.safe.isEncryptionAvailable())
      throw new Error('the OS keystore is not available: cannot protect the device key (安全存储不可用)');
    const backend = this.safe.getSelectedStorageBackend?.();
    if (backend === 'basic_text')
      throw new Error(
        'the OS keystore is the basic_text fallback (no gnome-keyring/kwallet): refusing to store the device key',
      );
  }

  load(): DeviceKey | null {
    if (!existsSync(this.path)) return null;
    this.check();
    return fromPem(this.safe.decryptString(readFileSync(this.path)));
  }

  save(key: DeviceKey): void {
    this.check();
    writeAtomic(this.path, this.safe.encryptString(toPem(key)));
  }
}

/** The device's key, made on first use. */
export function loadOrCreateDeviceKey(store: DeviceKeyStore): { key: DeviceKey; created: boolean } {
  const existing = store.load();
  if (existing) return { key: existing, created: false };
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const key = { privateKey, publicKey };
  store.save(key);
  return { key, created: true };
}
