import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import type { CounterStatus, EventName, SessionView } from '../../src-shared/calls.ts';
import type { Result } from '../../src-shared/result.ts';

/**
 * A stand-in for the devhost: serves the built renderer and answers the `/bridge` WebSocket with a
 * tiny counter session. Tests steer it through the fields below.
 */
export const RECEIPT = 'K7Q2-9XWD';

export const STAFF = {
  staff_no: '0931027',
  name: '李娟',
  window_id: '12',
  hall_id: 'div9-main',
  photo_url: null,
} as const;

export type SubmitBehaviour = { kind: 'ok'; delayMs?: number } | { kind: 'fail' } | { kind: 'hang' };

export interface FakeBridge {
  url: string;
  status: CounterStatus;
  submit: SubmitBehaviour;
  calls: Array<{ call: string; args: unknown }>;
  setSession(patch: Partial<SessionView>): void;
  emit(event: EventName, payload: unknown): void;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

export function idleSession(): SessionView {
  return {
    state: 'idle',
    staff: { ...STAFF },
    case_ref: null,
    opened_at: null,
    expires_at: null,
    receipt: null,
  };
}

export function openSession(caseRef: string | null = null): SessionView {
  return {
    state: 'rating_open',
    staff: { ...STAFF },
    case_ref: caseRef,
    opened_at: new Date().toISOString(),
    expires_at: null,
    receipt: null,
  };
}

export async function startFakeBridge(distDir: string): Promise<FakeBridge> {
  const sockets = new Set<WebSocket>();
  const server: Server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = normalize(join(distDir, path === '/' ? 'index.html' : path));
    if (!file.startsWith(distDir + sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  const wss = new WebSocketServer({ server, path: '/bridge' });

  const bridge: FakeBridge = {
    url: '',
    status: {
      device_id: 'ctr-test-01',
      session: idleSession(),
      pad: {
        link: 'up',
        path: '/dev/ttyUSB0',
        model: 'EVP1-std',
        boot_id: 7,
        frames: 12,
        bad_crc: 0,
        resyncs: 0,
        dropped_bytes: 0,
        serial: null,
        retransmits: 0,
        reconnects: 0,
        alarm: null,
      },
      sync: { queue_depth: 3, last_acked_seq: 41, oldest_unsent_age_s: 12, hub: 'ok', last_error: null },
    },
    submit: { kind: 'ok' },
    calls: [],
    setSession(patch) {
      bridge.status.session = { ...bridge.status.session, ...patch };
      bridge.emit('session', bridge.status.session);
    },
    emit(event, payload) {
      const text = JSON.stringify({ kind: 'event', event, payload });
      for (const ws of sockets) if (ws.readyState === WebSocket.OPEN) ws.send(text);
    },
    async close() {
      for (const ws of sockets) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  async function answer(call: string, args: unknown): Promise<Result<unknown> | null> {
    const s = bridge.status;
    switch (call) {
      case 'status.get':
        return { ok: true, value: s };
      case 'session.get':
        return { ok: true, value: s.session };
      case 'rating.open': {
        const caseRef = (args as { case_ref?: string | null }).case_ref ?? null;
        bridge.setSession(openSession(caseRef));
        return { ok: true, value: s.session };
      }
      case 'rating.cancel':
        bridge.setSession(idleSession());
        return { ok: true, value: s.session };
      case 'rating.submit': {
        if (s.session.state !== 'rating_open') {
          return { ok: false, error: { code: 'NO_RATING_OPEN', message: 'no rating open' } };
        }
        const behaviour = bridge.submit;
        if (behaviour.kind === 'hang') return null;
        if (behaviour.kind === 'fail') {
          return { ok: false, error: { code: 'STORE_UNAVAILABLE', message: 'disk full' } };
        }
        if (behaviour.delayMs) await new Promise((r) => setTimeout(r, behaviour.delayMs));
        bridge.setSession({ state: 'thanks', receipt: RECEIPT });
        return { ok: true, value: { receipt: RECEIPT } };
      }
      default:
        return { ok: false, error: { code: 'UNKNOWN_CALL', message: call } };
    }
  }

  wss.on('connection', (ws) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('message', async (data) => {
      const req = JSON.parse(String(data)) as { id: number; call: string; args: unknown };
      bridge.calls.push({ call: req.call, args: req.args });
      const result = await answer(req.call, req.args);
      if (result && ws.readyState === WebSocket.OPEN)
        ws.send(JSON.stringify({ kind: 'reply', id: req.id, result }));
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  bridge.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return bridge;
}
