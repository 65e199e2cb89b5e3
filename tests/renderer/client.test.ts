import { describe, expect, it, vi } from 'vitest';
import { createClient, type ProtocolProblem } from '../../src-renderer/client/client.ts';
import { createMemoryTransport, type MemoryHandler } from '../../src-renderer/client/memory-transport.ts';
import type { SessionView } from '../../src-shared/calls.ts';
import type { Result } from '../../src-shared/result.ts';

const session: SessionView = {
  state: 'rating_open',
  staff: { staff_no: '0931027', name: '李娟', window_id: '12', hall_id: 'h1', photo_url: null },
  case_ref: 'XJ-1',
  opened_at: '2025-06-01T08:00:00.000Z',
  expires_at: null,
  receipt: null,
  pause_reason: null,
  case: { item_name: null, anonymous_allowed: false },
};

function setup(handler: MemoryHandler = () => ({ ok: true, value: session })) {
  const problems: ProtocolProblem[] = [];
  const calls: Array<{ call: string; args: unknown }> = [];
  const transport = createMemoryTransport((call, args) => {
    calls.push({ call, args });
    return handler(call, args);
  });
  const client = createClient(transport, { onProtocolProblem: (p) => problems.push(p) });
  return { client, transport, problems, calls };
}

describe('client over the memory transport: calls', () => {
  it('sends the call and returns the validated reply', async () => {
    const { client, calls } = setup();
    const result = await client.call('session.get', {});
    expect(result).toEqual({ ok: true, value: session });
    expect(calls).toEqual([{ call: 'session.get', args: {} }]);
  });

  it('passes an Err from the host through unchanged', async () => {
    const { client } = setup(() => ({ ok: false, error: { code: 'NO_RATING_OPEN', message: 'none open' } }));
    expect(await client.call('rating.submit', { level: 5 })).toEqual({
      ok: false,
      error: { code: 'NO_RATING_OPEN', message: 'none open' },
    });
  });

  it('refuses input that fails the contract without sending it', async () => {
    const { client, calls } = setup();
    // @ts-expect-error level 6 is not a level
    const result = await client.call('rating.submit', { level: 6 });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('BAD_REQUEST');
    expect(calls).toEqual([]);
  });

  it('sends the parsed input (case_ref trimmed as the contract says)', async () => {
    const { client, calls } = setup();
    await client.call('rating.open', { case_ref: '  XJ-1 ' });
    expect(calls[0]?.args).toEqual({ case_ref: 'XJ-1' });
  });

  it('turns a reply that breaks the output schema into INTERNAL and reports it', async () => {
    const { client, problems } = setup(() => ({ ok: true, value: { receipt: 42 } }));
    const result = await client.call('rating.submit', { level: 3 });
    expect(result).toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
    expect(problems).toEqual([expect.objectContaining({ kind: 'reply', call: 'rating.submit' })]);
  });

  it('turns a reply that is not a Result into INTERNAL', async () => {
    const { client, problems } = setup(() => 'hello' as unknown as Result<unknown>);
    expect(await client.call('status.get', {})).toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
    expect(problems).toHaveLength(1);
  });

  it('maps an error code unknown to this version to INTERNAL, keeping the message', async () => {
    const { client } = setup(
      () => ({ ok: false, error: { code: 'FROM_THE_FUTURE', message: 'new' } }) as never,
    );
    expect(await client.call('session.get', {})).toEqual({
      ok: false,
      error: { code: 'INTERNAL', message: 'new' },
    });
  });

  it('never throws: a handler that throws becomes an INTERNAL Err', async () => {
    const { client } = setup(() => {
      throw new Error('boom');
    });
    expect(await client.call('session.get', {})).toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
  });

  it('refuses a call name outside the contract', async () => {
    const { client, calls } = setup();
    const result = await client.call('rating.delete' as 'session.get', {});
    expect(result).toMatchObject({ ok: false, error: { code: 'UNKNOWN_CALL' } });
    expect(calls).toEqual([]);
  });
});

describe('client over the memory transport: events', () => {
  it('delivers valid events to the listeners of that event only', () => {
    const { client, transport } = setup();
    const onSession = vi.fn();
    const onPad = vi.fn();
    client.on('session', onSession);
    client.on('pad', onPad);
    transport.emit('session', session);
    expect(onSession).toHaveBeenCalledWith(session);
    expect(onPad).not.toHaveBeenCalled();
  });

  it('drops and reports a payload that fails the schema', () => {
    const { client, transport, problems } = setup();
    const onSession = vi.fn();
    client.on('session', onSession);
    transport.emit('session', { ...session, state: 'rated' });
    transport.emit('session', { ...session, level: 5 }); // strict: a level never rides on a session
    transport.emit('sync', { queue_depth: 'many' });
    expect(onSession).not.toHaveBeenCalled();
    expect(problems.map((p) => p.kind === 'event' && p.event)).toEqual(['session', 'session', 'sync']);
  });

  it('reports an unknown event name', () => {
    const { transport, problems } = setup();
    transport.emit('rating', { level: 1 });
    expect(problems).toEqual([{ kind: 'event', event: 'rating', message: 'unknown event' }]);
  });

  it('unsubscribes, and one failing listener does not starve the others', () => {
    const { client, transport } = setup();
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const second = vi.fn();
    const off = client.on('session', () => {
      throw new Error('listener bug');
    });
    client.on('session', second);
    transport.emit('session', session);
    expect(second).toHaveBeenCalledTimes(1);
    off();
    transport.emit('session', session);
    expect(second).toHaveBeenCalledTimes(2);
    expect(errors).toHaveBeenCalledTimes(1);
    errors.mockRestore();
  });

  it('exposes the connection state of its transport', () => {
    const { client, transport } = setup();
    const seen: string[] = [];
    client.onConnection((s) => seen.push(s));
    expect(client.connection()).toBe('open');
    transport.setConnection('reconnecting');
    transport.setConnection('open');
    expect(seen).toEqual(['reconnecting', 'open']);
  });
});
