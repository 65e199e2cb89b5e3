import { z } from 'zod';

/**
 * Enrollment and device trust (architecture.md "Sync rules", threats T6/T7): IT staff create a
 * single-use, expiring token on the hub bound to a hall and window; the counter makes its own
 * Ed25519 key pair and enrolls once with the token; from then on every request it makes is signed
 * (src-shared/signing.ts) and the hub knows the device by its key. Revocation stops a device.
 */

const id = z.string().trim().min(1).max(32);

/** POST {HUB_API}/admin/enrollment-tokens (hub admin token): a token for one terminal. */
export const enrollmentTokenRequestSchema = z.strictObject({
  hall_id: id,
  window_id: id,
  /** How long the token stays usable; default one day, at most a week. */
  ttl_s: z
    .number()
    .int()
    .min(60)
    .max(7 * 86_400)
    .default(86_400),
});
export type EnrollmentTokenRequest = z.input<typeof enrollmentTokenRequestSchema>;

export const enrollmentTokenReplySchema = z.strictObject({
  /** Shown once, as text and as a QR code; only its hash is stored. */
  token: z.string(),
  hall_id: z.string(),
  window_id: z.string(),
  expires_at: z.iso.datetime({ offset: true }),
});
export type EnrollmentTokenReply = z.infer<typeof enrollmentTokenReplySchema>;

/** POST {HUB_API}/enroll (no signature yet: the token is the credential, once). */
export const enrollRequestSchema = z.strictObject({
  token: z.string().min(16).max(128),
  device_id: z.string().min(1).max(64),
  /** Ed25519 public key, base64 of the raw 32 bytes. */
  public_key: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'must be a base64 Ed25519 public key (32 bytes)'),
  app_version: z.string().min(1).max(32),
});
export type EnrollRequest = z.infer<typeof enrollRequestSchema>;

export const enrollReplySchema = z.strictObject({
  device_id: z.string(),
  hall_id: z.string(),
  window_id: z.string(),
  enrolled_at: z.iso.datetime({ offset: true }),
  server_time: z.iso.datetime({ offset: true }),
  /** The hub's config-signing Ed25519 public key (base64 raw): config bundles are verified with it. */
  hub_public_key: z.string().optional(),
});
export type EnrollReply = z.infer<typeof enrollReplySchema>;

/** POST {HUB_API}/admin/devices/:id/revoke (hub admin token). */
export const revokeRequestSchema = z.strictObject({ reason: z.string().trim().min(1).max(200) });

/** What the counter keeps after enrolling (DATA/enrollment.json). */
export const enrollmentStateSchema = z.strictObject({
  hub_url: z.string().url(),
  device_id: z.string(),
  hall_id: z.string(),
  window_id: z.string(),
  enrolled_at: z.string(),
  public_key: z.string(),
  /** The hub's config-signing key from the enroll reply; absent when enrolled with an older hub (enroll again). */
  hub_public_key: z.string().optional(),
});
export type EnrollmentState = z.infer<typeof enrollmentStateSchema>;

/** Error codes of device trust: each names what the counter (or IT) must do. */
export const AUTH_ERROR_CODES = {
  /** No signature: a counter that is not enrolled. */
  unsigned: 'UNSIGNED',
  /** Signature fields missing or unreadable. */
  malformedSignature: 'MALFORMED_SIGNATURE',
  /** The body does not match its Content-Digest. */
  badDigest: 'BAD_DIGEST',
  /** The key id is no enrolled device. */
  unknownDevice: 'UNKNOWN_DEVICE',
  /** The signature does not verify with the device's key. */
  badSignature: 'BAD_SIGNATURE',
  /** Signed more than 300 s off the hub's clock: the reply carries server_time; re-sign. */
  clockSkew: 'CLOCK_SKEW',
  /** A nonce seen before: a replayed request. */
  replayed: 'REPLAYED',
  /** The device was revoked at the hub: stop uploading, keep all data, show why. */
  revoked: 'DEVICE_REVOKED',
  /** Unknown, expired or already used enrollment token. */
  enrollmentToken: 'ENROLLMENT_TOKEN_INVALID',
  /** A device id already enrolled with another key. */
  deviceTaken: 'DEVICE_ALREADY_ENROLLED',
  /** A signed batch carries another device's id. */
  deviceMismatch: 'DEVICE_MISMATCH',
  /** Admin endpoints: missing or wrong hub admin token. */
  adminToken: 'ADMIN_TOKEN_REQUIRED',
} as const;
