import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import fastifyStatic from '@fastify/static';
import Fastify from 'fastify';
import { WebSocket, WebSocketServer } from 'ws';
import { type BridgeMessage, bridgeRequestSchema, err } from '../../src-shared/index.ts';
import { createCallHandler } from '../core/call-handler.ts';
import type { Counter } from '../core/counter.ts';
import { forwardEvents } from '../core/event-forwarder.ts';

export interface DevhostOptions {
  counter: Counter;
  /** The built renderer (vite build output); absent ⇒ only the bridge is served. */
  staticDir: string;
  port: number;
  host?: string;
}

/**
 * Runs the counter's UI where no Electron binary exists: serves the same renderer to any browser
 * and carries the same call/event contract over a WebSocket instead of IPC. Loopback only: the
 * bridge has no authentication, exactly like IPC inside one machine.
 */
export async function startDevhost(opts: DevhostOptions): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify({ logger: false });
  if (existsSync(opts.staticDir)) {
    await app.register(fastifyStatic, { root: opts.staticDir, index: 'index.html' });
  } else {
    app.get('/', async (_req, reply) =>
      reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('界面尚未构建 (the renderer is not built): run `npm run build:renderer`'),
    );
  }
  app.get('/healthz', async () => ({ ok: true }));

  const handle = createCallHandler(opts.counter);
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  app.server.on('upgrade', (req, socket, head) => {
    if (req.url !== '/bridge') {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const send = (ws: WebSocket, msg: BridgeMessage) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  };
  const stopEvents = forwardEvents(opts.counter, (event, payload) => {
    for (const ws of wss.clients) send(ws, { kind: 'event', event, payload });
  });

  wss.on('connection', (ws) => {
    // A fresh screen gets the current state at once instead of waiting for the next change.
    const status = opts.counter.status();
    send(ws, { kind: 'event', event: 'session', payload: status.session });
    send(ws, { kind: 'event', event: 'pad', payload: status.pad });
    send(ws, { kind: 'event', event: 'sync', payload: status.sync });
    ws.on('message', async (data) => {
      let json: unknown;
      try {
        json = JSON.parse(String(data));
      } catch {
        send(ws, { kind: 'reply', id: -1, result: err('BAD_REQUEST', 'message is not JSON') });
        return;
      }
      const req = bridgeRequestSchema.safeParse(json);
      if (!req.success) {
        const id = typeof (json as { id?: unknown })?.id === 'number' ? (json as { id: number }).id : -1;
        send(ws, { kind: 'reply', id, result: err('BAD_REQUEST', 'expected {id, call, args}') });
        return;
      }
      send(ws, { kind: 'reply', id: req.data.id, result: await handle(req.data.call, req.data.args) });
    });
  });

  await app.listen({ port: opts.port, host: opts.host ?? '127.0.0.1' });
  const addr = app.server.address() as AddressInfo;
  return {
    url: `http://${addr.address === '::1' ? '[::1]' : addr.address}:${addr.port}`,
    async close() {
      stopEvents();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await app.close();
    },
  };
}
