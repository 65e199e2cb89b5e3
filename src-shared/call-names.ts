/**
 * The names of the counter's calls and events, with no dependencies, so Electron's sandboxed
 * preload can allowlist them without bundling zod. calls.ts checks at compile time that these
 * lists and its schema maps name exactly the same things.
 */
export const CALL_NAMES = [
  'session.get',
  'rating.open',
  'rating.cancel',
  'rating.submit',
  'status.get',
  'staff.sign_in',
  'staff.sign_out',
  'staff.pause',
  'staff.resume',
  'rating.activity',
  'reasons.get',
  'device.trust_status',
  'device.enroll',
] as const;
export const EVENT_NAMES = ['session', 'pad', 'sync', 'store'] as const;
