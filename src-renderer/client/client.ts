import { z } from 'zod';
import {
  type CallInput,
  type CallName,
  type CallOutput,
  calls,
  type EventName,
  type EventPayload,
  events,
} from '../../src-shared/calls.ts';
import { ERROR_CODES, type Err, type Result } from '../../src-shared/result.ts';
import { type ConnectionState, Listeners, type Transport } from './transport.ts';

/**
 * The one client object every screen and store talks through (architecture.md, renderer layer).
 * Typed from the contract's call map; nothing throws: every call resolves to a Result.
 */
export interface Client {
  call<N extends CallName>(name: N, args: CallInput<N>): Promise<Result<CallOutput<N>>>;
  /** Validated events only; a payload that fails the contract's schema is dropped and reported. */
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
  connection(): ConnectionState;
  onConnection(listener: (state: ConnectionState) => void): () => void;
  close(): void;
}

/** Something the host sent that breaks the contract: logged, never shown to the citizen. */
export type ProtocolProblem =
  | { kind: 'event'; event: string; message: string }
  | { kind: 'reply'; call: string; message: string };

export interface ClientOptions {
  onProtocolProblem?: (problem: ProtocolProblem) => void;
}

const resultSchema = z.union([
  z.object({ ok: z.literal(true), value: z.unknown() }),
  z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
]);

function knownCode(code: string): Err['error']['code'] {
  return (ERROR_CODES as readonly string[]).includes(code) ? (code as Err['error']['code']) : 'INTERNAL';
}

function fail(code: Err['error']['code'], message: string): Err {
  return { ok: false, error: { code, message } };
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue?.path.join('.') || 'value'}: ${issue?.message ?? 'invalid'}`;
}

export function createClient(transport: Transport, options: ClientOptions = {}): Client {
  const report =
    options.onProtocolProblem ??
    ((problem: ProtocolProblem) => console.warn('[haocha] contract violation', problem));
  const listeners = new Map<EventName, Listeners<[unknown]>>();

  const unsubscribeTransport = transport.subscribe((event, payload) => {
    if (!Object.hasOwn(events, event)) {
      report({ kind: 'event', event, message: 'unknown event' });
      return;
    }
    const name = event as EventName;
    const parsed = events[name].safeParse(payload);
    if (!parsed.success) {
      report({ kind: 'event', event, message: describe(parsed.error) });
      return;
    }
    listeners.get(name)?.emit(parsed.data);
  });

  return {
    async call<N extends CallName>(name: N, args: CallInput<N>): Promise<Result<CallOutput<N>>> {
      if (!Object.hasOwn(calls, name)) return fail('UNKNOWN_CALL', `unknown call: ${String(name)}`);
      const spec = calls[name];
      const input = spec.input.safeParse(args ?? {});
      if (!input.success) return fail('BAD_REQUEST', `${name}: ${describe(input.error)}`);
      let raw: unknown;
      try {
        raw = await transport.invoke(name, input.data);
      } catch (e) {
        return fail('INTERNAL', `${name}: transport failed: ${(e as Error)?.message ?? String(e)}`);
      }
      const result = resultSchema.safeParse(raw);
      if (!result.success) {
        report({ kind: 'reply', call: name, message: `not a Result: ${describe(result.error)}` });
        return fail('INTERNAL', `${name}: malformed reply`);
      }
      if (!result.data.ok) return fail(knownCode(result.data.error.code), result.data.error.message);
      const value = spec.output.safeParse(result.data.value);
      if (!value.success) {
        report({ kind: 'reply', call: name, message: describe(value.error) });
        return fail('INTERNAL', `${name}: reply failed the contract`);
      }
      return { ok: true, value: value.data as CallOutput<N> };
    },

    on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
      let set = listeners.get(event);
      if (!set) {
        set = new Listeners<[unknown]>();
        listeners.set(event, set);
      }
      return set.add(listener as (payload: unknown) => void);
    },

    connection: () => transport.connection(),
    onConnection: (listener) => transport.onConnection(listener),

    close() {
      unsubscribeTransport();
      listeners.clear();
      transport.close();
    },
  };
}
