/** Every call across a boundary returns a Result; nothing throws across IPC, WebSocket or HTTP. */
export type Ok<T> = { ok: true; value: T };
export type Err = { ok: false; error: { code: ErrorCode; message: string } };
export type Result<T> = Ok<T> | Err;

export const ERROR_CODES = [
  'BAD_REQUEST', // input failed the contract's schema
  'UNKNOWN_CALL', // a call name not in the call map
  'NO_RATING_OPEN', // a rating was submitted while no rating window is open
  'RATING_ALREADY_GIVEN', // first press wins: the open rating already has its level
  'STORE_UNAVAILABLE', // the store cannot commit (disk full, read-only, damaged)
  'NOT_SIGNED_IN', // the window has no staff signed in: it takes no ratings
  'SIGNED_IN', // another staff member is signed in here: sign out first
  'PAUSED', // the window is paused (暂停服务)
  'RATING_OPEN', // a rating window is already open
  'CASE_ALREADY_RATED', // 一事一评: this case has its rating
  'BAD_CREDENTIALS', // staff number or PIN wrong (never says which)
  'LOCKED', // too many wrong PINs: this staff number is locked for a while
  'REASON_REQUIRED', // a 差评 from the screen needs a reason of its level (or the step's time-out)
  'ENROLL_TOKEN_INVALID', // enrollment token unknown, expired or already used
  'ALREADY_ENROLLED', // this terminal is enrolled and signing: revoke it at the hub first
  'ENROLL_FAILED', // the hub refused the enrollment otherwise, or could not be reached
  'INTERNAL', // a bug: logged with its stack on the host
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export function ok<T>(value: T): Ok<T> {
  return { ok: true, value };
}

export function err(code: ErrorCode, message: string): Err {
  return { ok: false, error: { code, message } };
}

/** An error that carries a contract code, thrown inside a host and turned into an Err at the boundary. */
export class CodedError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CodedError';
  }
}
