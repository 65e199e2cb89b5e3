import {
  type CallName,
  CodedError,
  calls,
  err,
  ok,
  type PauseReason,
  type Result,
} from '../../src-shared/index.ts';
import type { Counter, ScreenRatingInput } from './counter.ts';

export type CallHandler = (name: string, args: unknown) => Promise<Result<unknown>>;

/**
 * The one gate every UI call passes, whatever the transport: unknown names and inputs that fail
 * the contract's schema are refused with a code, and nothing throws back across the boundary.
 */
export function createCallHandler(counter: Counter): CallHandler {
  const impl: { [N in CallName]: (input: never) => unknown } = {
    'session.get': () => counter.session.view(),
    'rating.open': (input: { case_ref?: string | null }) => counter.openRating(input.case_ref ?? null),
    'rating.cancel': () => counter.cancelRating(),
    'rating.submit': (input: ScreenRatingInput) => counter.submitScreenRating(input),
    'status.get': () => counter.status(),
    'staff.sign_in': (input: { staff_no: string; pin: string }) => counter.signIn(input.staff_no, input.pin),
    'staff.sign_out': () => counter.signOut(),
    'staff.pause': (input: { reason: PauseReason }) => counter.pause(input.reason),
    'staff.resume': () => counter.resume(),
    'rating.activity': () => counter.activity(),
    'reasons.get': () => counter.reasons(),
    'device.trust_status': () => counter.trustStatus(),
    'device.enroll': (input: { token: string; hub_url?: string }) =>
      counter.enroll(input.token, input.hub_url),
  };
  return async (name, args) => {
    if (!Object.hasOwn(calls, name)) return err('UNKNOWN_CALL', `unknown call: ${name}`);
    const spec = calls[name as CallName];
    const parsed = spec.input.safeParse(args ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return err('BAD_REQUEST', `${name}: ${issue?.path.join('.') || 'args'}: ${issue?.message}`);
    }
    try {
      return ok(await impl[name as CallName](parsed.data as never));
    } catch (e) {
      if (e instanceof CodedError) return err(e.code, e.message);
      process.emitWarning(`call ${name} failed: ${(e as Error).stack ?? e}`);
      return err('INTERNAL', `${name} failed: ${(e as Error).message}`);
    }
  };
}
