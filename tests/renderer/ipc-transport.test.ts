import { describe, expect, it, vi } from 'vitest';
import { createClient } from '../../src-renderer/client/client.ts';
import { createIpcTransport, type HaochaPreloadApi } from '../../src-renderer/client/ipc-transport.ts';
import { EVENT_NAMES } from '../../src-shared/calls.ts';

function fakePreload() {
  const subs = new Map<string, (payload: unknown) => void>();
  const api: HaochaPreloadApi = {
    invoke: vi.fn(async (name: string) =>
      name === 'rating.submit'
        ? Promise.reject(new Error('handler threw'))
        : { ok: true, value: { receipt: 'X1' } },
    ),
    subscribe: vi.fn((event: string, cb: (payload: unknown) => void) => {
      subs.set(event, cb);
      return () => subs.delete(event);
    }),
  };
  return { api, subs };
}

describe('IPC transport over the preload API', () => {
  it('subscribes to every contract event and delivers validated payloads', () => {
    const { api, subs } = fakePreload();
    const client = createClient(createIpcTransport(api), { onProtocolProblem: () => {} });
    expect([...subs.keys()].sort()).toEqual([...EVENT_NAMES].sort());
    const got = vi.fn();
    client.on('sync', got);
    subs.get('sync')?.({
      queue_depth: 1,
      last_acked_seq: 1,
      oldest_unsent_age_s: null,
      hub: 'ok',
      last_error: null,
    });
    subs.get('sync')?.({ bogus: true });
    expect(got).toHaveBeenCalledTimes(1);
    expect(client.connection()).toBe('open');
    client.close();
    expect(subs.size).toBe(0);
  });

  it('turns a rejected invoke into an INTERNAL Err', async () => {
    const { api } = fakePreload();
    const client = createClient(createIpcTransport(api));
    expect(await client.call('rating.submit', { level: 3 })).toEqual({
      ok: false,
      error: { code: 'INTERNAL', message: 'rating.submit: handler threw' },
    });
  });
});
