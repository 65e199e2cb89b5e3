import { type CallName, CodedError, calls, err, ok, type Result } from '../../src-shared/index.ts';
import type { Counter } from './counter.ts';

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
    'rating.submit': (input: { level: 1 | 2 | 3 | 4 | 5 }) => counter.submitScreenRating(input.level),
    'status.get': () => counter.status(),
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
