import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FaultProxy, messageLength, policyChooser } from '../helpers/fault-proxy.ts';

/** An echo server that counts the requests it got and the body chunks they came in. */
let server: Server;
let received: { body: string; chunks: number }[];
let proxy: FaultProxy;

beforeEach(async () => {
  received = [];
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString();
    received.push({ body, chunks: chunks.length });
    const answer = JSON.stringify({ n: received.length, echo: body });
    res.writeHead(200, { 'content-type': 'application/json' }).end(answer);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy = await FaultProxy.start({ upstreamPort: (server.address() as AddressInfo).port });
});

afterEach(async () => {
  await proxy.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const post = (body: string, signal?: AbortSignal) =>
  fetch(`${proxy.url}/x`, { method: 'POST', body, headers: { 'content-type': 'text/plain' }, signal });

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('fault proxy', () => {
  it('passes requests and answers through, several on one kept-alive connection', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await post(`hello ${i}`);
      expect(await res.json()).toEqual({ n: i + 1, echo: `hello ${i}` });
    }
    expect(received).toHaveLength(5);
    expect(proxy.stats.byKind.pass).toBe(5);
    expect(proxy.stats.connections).toBeLessThanOrEqual(2);
  });

  it('reset before forwarding: the client fails and the server never sees the request', async () => {
    proxy.enqueue({ kind: 'reset_before' });
    await expect(post('a')).rejects.toThrow();
    expect(received).toHaveLength(0);
    expect(await (await post('b')).json()).toEqual({ n: 1, echo: 'b' });
  });

  it('lost response after commit: the server handled it, the client hears only a reset', async () => {
    proxy.enqueue({ kind: 'lose_response' });
    await expect(post('a')).rejects.toThrow();
    expect(received.map((r) => r.body)).toEqual(['a']);
  });

  it('drop and stall-forever hold the request until released, then reset it', async () => {
    proxy.enqueue({ kind: 'drop' });
    const dropped = post('a');
    dropped.catch(() => {});
    await until(() => proxy.heldCount === 1);
    proxy.enqueue({ kind: 'stall', ms: Number.POSITIVE_INFINITY });
    const stalled = post('b');
    stalled.catch(() => {});
    await until(() => proxy.heldCount === 2);
    expect(received).toHaveLength(0);
    proxy.release();
    await expect(dropped).rejects.toThrow();
    await expect(stalled).rejects.toThrow();
    expect(received).toHaveLength(0);
    expect(proxy.heldCount).toBe(0);
  });

  it('a finite stall forwards the request afterwards', async () => {
    proxy.enqueue({ kind: 'stall', ms: 100 });
    const res = post('late');
    await until(() => proxy.heldCount === 1);
    expect(received).toHaveLength(0);
    expect(await (await res).json()).toEqual({ n: 1, echo: 'late' });
  });

  it('trickles one byte per write both ways, and the bytes arrive intact', async () => {
    proxy.enqueue({ kind: 'trickle', delayMs: 1 });
    const body = 'x'.repeat(40);
    const res = await post(body);
    expect(await res.json()).toEqual({ n: 1, echo: body });
    // The server's parser saw the body in many pieces, not one.
    expect(received[0]?.chunks).toBeGreaterThan(5);
  });

  it('duplicates a request on a fresh connection: the server sees it twice, the client once', async () => {
    proxy.enqueue({ kind: 'duplicate', delayMs: 500 });
    expect(await (await post('twice')).json()).toEqual({ n: 1, echo: 'twice' });
    // A newer request, then the older duplicate arrives: reordered.
    await post('newer');
    await proxy.settled();
    expect(received.map((r) => r.body)).toEqual(['twice', 'newer', 'twice']);
    expect(proxy.stats.duplicateAnswers).toEqual({ 200: 1 });
  });

  it('chunked bodies are framed too', async () => {
    const chunked = Buffer.from(
      'POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nGET',
    );
    expect(messageLength(chunked)).toBe(chunked.length - 3);
    expect(messageLength(chunked.subarray(0, 40))).toBeNull();
  });

  it('the same seed gives the same faults, request by request', async () => {
    const policy = { seed: 42, weights: { pass: 2, lose_response: 1, duplicate: 1, reset_before: 1 } };
    const a = policyChooser(policy);
    const b = policyChooser(policy);
    const seqA = Array.from({ length: 50 }, a);
    expect(Array.from({ length: 50 }, b)).toEqual(seqA);
    expect(new Set(seqA.map((x) => x.kind)).size).toBe(4);
    expect(Array.from({ length: 50 }, policyChooser({ ...policy, seed: 43 }))).not.toEqual(seqA);
    // And the live proxy follows it.
    proxy.random(policy);
    for (let i = 0; i < 20; i++) await post(`r${i}`).catch(() => {});
    expect(proxy.log).toEqual(seqA.slice(0, 20).map((x) => x.kind));
  });
});
