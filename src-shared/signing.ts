/**
 * Counter → hub request signatures (threat T6/T7), in the shape of RFC 9421 HTTP Message
 * Signatures with Ed25519 keys, via the `http-message-signatures` package. Node-only (it uses
 * node:crypto): not re-exported from index.ts, which the renderer's bundle imports.
 *
 * Signed: the method, the path with its query, the body's Content-Digest (RFC 9530, SHA-256 over
 * the bytes as sent), and the parameters created (Unix seconds), nonce, keyid (the device id) and
 * alg. The hub accepts a signature created within ±CLOCK_WINDOW_S of its clock and each nonce once.
 */
import { createHash, createPublicKey, type KeyObject, randomBytes } from 'node:crypto';
import { createSigner, createVerifier, httpbis } from 'http-message-signatures';
import { type InnerList, parseDictionary } from 'structured-headers';

export const SIGNATURE_NAME = 'haocha';
export const SIGNED_COMPONENTS = ['@method', '@path', '@query', 'content-digest'] as const;
export const CLOCK_WINDOW_S = 300;

export interface SignableRequest {
  method: string;
  /** Absolute URL (the hub's base plus path and query). */
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** `sha-256=:base64:` over the exact body bytes. */
export function contentDigest(body: Uint8Array): string {
  return `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;
}

export function newNonce(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * Adds Content-Digest, Signature-Input and Signature headers. `now` is the counter's idea of the
 * hub's clock (its own clock plus the offset the hub told it), so a wrong local clock is
 * corrected by re-signing rather than refused forever.
 */
export async function signRequest(
  req: SignableRequest,
  key: { deviceId: string; privateKey: KeyObject },
  now: Date = new Date(),
  nonce: string = newNonce(),
): Promise<Record<string, string>> {
  const headers: Record<string, string> = { ...req.headers, 'content-digest': contentDigest(req.body) };
  const signed = await httpbis.signMessage(
    {
      key: createSigner(key.privateKey, 'ed25519', key.deviceId),
      name: SIGNATURE_NAME,
      fields: [...SIGNED_COMPONENTS],
      params: ['created', 'nonce', 'keyid', 'alg'],
      paramValues: { created: now, nonce },
    },
    { method: req.method, url: req.url, headers },
  );
  // Header names in lower case, as HTTP/2 and Node's server present them.
  return Object.fromEntries(
    Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : v]),
  );
}

export type VerifyFailure =
  | 'unsigned'
  | 'malformed'
  | 'bad_digest'
  | 'unknown_device'
  | 'clock_skew'
  | 'replayed'
  | 'bad_signature';

export type VerifyResult =
  | { ok: true; deviceId: string; created: Date; nonce: string }
  | { ok: false; reason: VerifyFailure; deviceId: string | null; message: string };

export interface VerifyOptions {
  /** The enrolled device's public key, or null when the device is not enrolled. */
  publicKeyOf: (deviceId: string) => KeyObject | null | Promise<KeyObject | null>;
  /** Records the nonce; false when it was seen before (a replay). Called only for a valid signature. */
  spendNonce: (deviceId: string, nonce: string, created: Date) => boolean | Promise<boolean>;
  now?: Date;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | null {
  const v = headers[name];
  if (v === undefined) return null;
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Our signature's covered components and parameters from a Signature-Input header, or why not. */
function readSignatureInput(input: string): { covered: string[]; params: Map<string, unknown> } | string {
  try {
    const entry = parseDictionary(input).get(SIGNATURE_NAME);
    if (!entry || !Array.isArray(entry[0])) return `no "${SIGNATURE_NAME}" signature`;
    const inner = entry as InnerList;
    return { covered: inner[0].map(([name]) => String(name)), params: inner[1] };
  } catch (e) {
    return `unreadable Signature-Input: ${(e as Error).message}`;
  }
}

/**
 * The device a request says signed it (the keyid of its signature), unverified: only for
 * bookkeeping that must start before the signature is checked; never for trust.
 */
export function claimedKeyId(headers: Record<string, string | string[] | undefined>): string | null {
  const input = header(headers, 'signature-input');
  const read = input ? readSignatureInput(input) : null;
  if (read === null || typeof read === 'string') return null;
  const keyid = read.params.get('keyid');
  return typeof keyid === 'string' ? keyid : null;
}

/**
 * Checks a request's signature: the digest matches the body, the key is an enrolled device's,
 * the clock is within the window, the signature verifies, and only then the nonce is spent (so
 * a forged request cannot burn a real counter's nonce).
 */
export async function verifyRequest(
  req: {
    method: string;
    url: string;
    headers: Record<string, string | string[] | undefined>;
    /** The body as received, or its Content-Digest computed while it streamed in (a gzip body is hashed compressed). */
    body: Uint8Array | { digest: string };
  },
  opts: VerifyOptions,
): Promise<VerifyResult> {
  const fail = (reason: VerifyFailure, deviceId: string | null, message: string): VerifyResult => ({
    ok: false,
    reason,
    deviceId,
    message,
  });
  const input = header(req.headers, 'signature-input');
  const signature = header(req.headers, 'signature');
  if (!input || !signature)
    return fail('unsigned', null, 'request is not signed (Signature-Input and Signature headers)');
  const read = readSignatureInput(input);
  if (typeof read === 'string') return fail('malformed', null, read);
  const { covered, params } = read;
  const deviceId = typeof params.get('keyid') === 'string' ? (params.get('keyid') as string) : null;
  const created = params.get('created');
  const nonce = params.get('nonce');
  if (!deviceId || typeof created !== 'number' || typeof nonce !== 'string' || nonce.length < 16)
    return fail(
      'malformed',
      deviceId,
      'signature needs keyid, created and a nonce of at least 16 characters',
    );
  if (params.get('alg') !== 'ed25519') return fail('malformed', deviceId, 'alg must be ed25519');
  for (const c of SIGNED_COMPONENTS)
    if (!covered.includes(c)) return fail('malformed', deviceId, `signature must cover ${c}`);
  const digest = req.body instanceof Uint8Array ? contentDigest(req.body) : req.body.digest;
  if (header(req.headers, 'content-digest') !== digest)
    return fail('bad_digest', deviceId, 'Content-Digest does not match the body');
  const publicKey = await opts.publicKeyOf(deviceId);
  if (!publicKey) return fail('unknown_device', deviceId, `device ${deviceId} is not enrolled`);
  const nowS = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  if (Math.abs(nowS - created) > CLOCK_WINDOW_S)
    return fail(
      'clock_skew',
      deviceId,
      `signature time is ${created - nowS} s off the hub's clock (±${CLOCK_WINDOW_S} s)`,
    );
  let valid: boolean | null;
  try {
    valid = await httpbis.verifyMessage(
      {
        keyLookup: async () => ({
          id: deviceId,
          algs: ['ed25519'],
          verify: createVerifier(publicKey, 'ed25519'),
        }),
        // The window was checked above against the injectable clock; the library checks against
        // its own, so give it no say on time.
        tolerance: 10 * 365 * 86_400,
      },
      { method: req.method, url: req.url, headers: stringHeaders(req.headers) },
    );
  } catch (e) {
    return fail('bad_signature', deviceId, `signature rejected: ${(e as Error).message}`);
  }
  if (valid !== true) return fail('bad_signature', deviceId, 'signature does not verify');
  const createdAt = new Date(created * 1000);
  if (!(await opts.spendNonce(deviceId, nonce, createdAt)))
    return fail('replayed', deviceId, 'nonce already used: a replayed request');
  return { ok: true, deviceId, created: createdAt, nonce };
}

function stringHeaders(h: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = v;
  return out;
}

/** A device's public key as it travels at enrollment: base64 of the raw 32 Ed25519 bytes. */
export function exportPublicKey(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' }) as { x?: string };
  if (!jwk.x) throw new Error('not an Ed25519 public key');
  return Buffer.from(jwk.x, 'base64url').toString('base64');
}

export function importPublicKey(raw: string): KeyObject {
  const bytes = Buffer.from(raw, 'base64');
  if (bytes.length !== 32) throw new Error('an Ed25519 public key is 32 bytes');
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: bytes.toString('base64url') },
    format: 'jwk',
  });
}
