import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createClient } from '../../src-renderer/client/client.ts';
import type { ConnectionState } from '../../src-renderer/client/transport.ts';
import { bridgeUrl, createWsTransport, type WebSocketLike } from '../../src-renderer/client/ws-transport.ts';

/** A scriptable bridge: records requests; the test decides whether and how to answer. */
async function startServer() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', path: '/bridge' });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const requests: Array<{ id: number; call: string; args: unknown; ws: WebSocket }> = [];
  const waiters: Array<() => void> = [];
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const req = JSON.parse(String(data));
      requests.push({ ...req, ws });
      for (const w of waiters.splice(0)) w();
    });
  });
  const port = (wss.address() as AddressInfo).port;
  return {
    wss,
    port,
    url: `ws://127.0.0.1:${port}/bridge`,
    requests,
    async nextRequest(count: number) {
      while (requests.length < count) await new Promise<void>((r) => waiters.push(r));
      const req = requests[count - 1];
      if (!req) throw new Error(`request ${count} missing`);
      return req;
    },
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}

const connect = (url: string) => new WebSocket(url) as unknown as WebSocketLike;

function waitForState(
  t: { connection(): ConnectionState; onConnection(l: (s: ConnectionState) => void): () => void },
  want: ConnectionState,
) {
  return new Promise<void>((resolve) => {
    if (t.connection() === want) return resolve();
    const off = t.onConnection((s) => {
      if (s === want) {
        off();
        resolve();
      }
    });
  });
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('WebSocket transport', () => {
  it('derives /bridge on the page host', () => {
    expect(bridgeUrl({ protocol: 'http:', host: '127.0.0.1:5170' })).toBe('ws://127.0.0.1:5170/bridge');
    expect(bridgeUrl({ protocol: 'https:', host: 'counter.local' })).toBe('wss://counter.local/bridge');
  });

  it('sends {id, call, args}, resolves the matching reply, and delivers events', async () => {
    const server = await startServer();
    cleanups.push(() => server.close());
    const transport = createWsTransport({ url: server.url, connect });
    cleanups.push(() => transport.close());
    const client = createClient(transport);
    const events: unknown[] = [];
    client.on('sync', (p) => events.push(p));

    // Issued while the socket is still connecting: it waits and goes out on open.
    const pending = client.call('rating.submit', { level: 4 });
    const req = await server.nextRequest(1);
    expect(req).toMatchObject({ id: expect.any(Number), call: 'rating.submit', args: { level: 4 } });
    const sync = { queue_depth: 2, last_acked_seq: 9, oldest_unsent_age_s: 3, hub: 'ok', last_error: null };
    req.ws.send(JSON.stringify({ kind: 'event', event: 'sync', payload: sync }));
    req.ws.send(
      JSON.stringify({ kind: 'reply', id: req.id, result: { ok: true, value: { receipt: 'AB12' } } }),
    );
    expect(await pending).toEqual({ ok: true, value: { receipt: 'AB12' } });
    expect(events).toEqual([sync]);
    expect(transport.connection()).toBe('open');
  });

  it('matches replies by id when they come back out of order', async () => {
    const server = await startServer();
    cleanups.push(() => server.close());
    const transport = createWsTransport({ url: server.url, connect });
    cleanups.push(() => transport.close());
    const a = transport.invoke('session.get', {});
    const b = transport.invoke('status.get', {});
    const ra = await server.nextRequest(1);
    const rb = await server.nextRequest(2);
    rb.ws.send(JSON.stringify({ kind: 'reply', id: rb.id, result: { ok: true, value: 'b' } }));
    ra.ws.send(JSON.stringify({ kind: 'reply', id: ra.id, result: { ok: true, value: 'a' } }));
    expect(await a).toEqual({ ok: true, value: 'a' });
    expect(await b).toEqual({ ok: true, value: 'b' });
  });

  it('resolves pending calls as INTERNAL …disconnected when the socket drops, then reconnects', async () => {
    const server = await startServer();
    cleanups.push(() => server.close());
    const transport = createWsTransport({ url: server.url, connect, baseDelayMs: 20, maxDelayMs: 50 });
    cleanups.push(() => transport.close());
    const states: ConnectionState[] = [];
    transport.onConnection((s) => states.push(s));

    const pending = transport.invoke('rating.submit', { level: 1 });
    const req = await server.nextRequest(1);
    req.ws.terminate();
    const result = (await pending) as { ok: boolean; error: { code: string; message: string } };
    expect(result.ok).toBe(false);
    expect(result.error.code).toBe('INTERNAL');
    expect(result.error.message).toMatch(/disconnected$/);

    await waitForState(transport, 'open');
    expect(states).toEqual(['open', 'reconnecting', 'open']);
    const again = transport.invoke('session.get', {});
    const req2 = await server.nextRequest(2);
    req2.ws.send(JSON.stringify({ kind: 'reply', id: req2.id, result: { ok: true, value: 1 } }));
    expect(await again).toEqual({ ok: true, value: 1 });
  });

  it('keeps retrying with backoff while the bridge is down, and fails calls instead of hanging', async () => {
    const server = await startServer();
    const port = server.port;
    await server.close();
    const transport = createWsTransport({
      url: `ws://127.0.0.1:${port}/bridge`,
      connect,
      baseDelayMs: 20,
      maxDelayMs: 40,
    });
    cleanups.push(() => transport.close());
    const first = (await transport.invoke('session.get', {})) as { ok: boolean };
    expect(first.ok).toBe(false);
    expect(transport.connection()).toBe('reconnecting');

    // The bridge comes back on the same port: the transport finds it by itself.
    const back = new WebSocketServer({ port, host: '127.0.0.1', path: '/bridge' });
    cleanups.push(() => new Promise<void>((r) => back.close(() => r())));
    back.on('connection', (ws) =>
      ws.on('message', (d) => {
        const req = JSON.parse(String(d));
        ws.send(JSON.stringify({ kind: 'reply', id: req.id, result: { ok: true, value: 'back' } }));
      }),
    );
    await waitForState(transport, 'open');
    expect(await transport.invoke('session.get', {})).toEqual({ ok: true, value: 'back' });
    for (const c of back.clients) c.terminate();
  });

  it('ignores garbage from the bridge without breaking', async () => {
    const server = await startServer();
    cleanups.push(() => server.close());
    const transport = createWsTransport({ url: server.url, connect });
    cleanups.push(() => transport.close());
    const warn = console.warn;
    console.warn = () => {};
    cleanups.push(() => {
      console.warn = warn;
    });
    const pending = transport.invoke('session.get', {});
    const req = await server.nextRequest(1);
    req.ws.send('not json');
    req.ws.send(JSON.stringify({ kind: 'mystery' }));
    req.ws.send(JSON.stringify({ kind: 'reply', id: 9999, result: { ok: true, value: 0 } }));
    req.ws.send(JSON.stringify({ kind: 'reply', id: req.id, result: { ok: true, value: 'fine' } }));
    expect(await pending).toEqual({ ok: true, value: 'fine' });
  });

  it('after close(), calls fail at once and no reconnect happens', async () => {
    const server = await startServer();
    cleanups.push(() => server.close());
    const transport = createWsTransport({ url: server.url, connect, baseDelayMs: 10 });
    await waitForState(transport, 'open');
    transport.close();
    expect(await transport.invoke('session.get', {})).toMatchObject({
      ok: false,
      error: { code: 'INTERNAL' },
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(server.wss.clients.size).toBe(0);
  });
});
