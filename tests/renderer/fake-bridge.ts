import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import type {
  CounterStatus,
  EventName,
  PauseReason,
  ReasonDictionary,
  SessionView,
  StaffView,
} from '../../src-shared/calls.ts';
import type { Level } from '../../src-shared/levels.ts';
import type { ErrorCode, Result } from '../../src-shared/result.ts';

/**
 * A stand-in for the counter's core: a tiny session (sign-in, pause, rating window) answering the
 * contract's calls. `createFakeCounter` runs in-process (unit tests, over the memory transport);
 * `startFakeBridge` serves the built renderer and the same fake over the devhost's `/bridge`
 * WebSocket (browser tests). Tests steer it through the fields below.
 */
export const RECEIPT = 'K7Q2-9XWD';

export const STAFF = {
  staff_no: '0931027',
  name: '李娟',
  window_id: '12',
  hall_id: 'div9-main',
  photo_url: null,
} as const;

/** The roster the fake accepts: the embedded demo staff (090317 / 246810) and STAFF. */
export const ROSTER: Record<string, { name: string; pin: string }> = {
  '090317': { name: '李明', pin: '246810' },
  '0931027': { name: '李娟', pin: '135790' },
};
export const DEMO_STAFF_NO = '090317';
export const DEMO_PIN = '246810';

/** The embedded dictionary's shape: 2xx for 不满意, 1xx for 非常不满意, Chinese texts only. */
export const REASONS: ReasonDictionary = {
  version: 'test-2026.1',
  reasons: [
    { code: '201', level: 2, text: { 'zh-Hans': '办理时间长' } },
    { code: '202', level: 2, text: { 'zh-Hans': '服务态度不好', ug: 'مۇلازىمەت پوزىتسىيەسى ياخشى ئەمەس' } },
    { code: '203', level: 2, text: { 'zh-Hans': '材料要求不清楚' } },
    { code: '101', level: 1, text: { 'zh-Hans': '推诿扯皮' } },
    { code: '102', level: 1, text: { 'zh-Hans': '态度恶劣' } },
  ],
};

export type SubmitBehaviour = { kind: 'ok'; delayMs?: number } | { kind: 'fail' } | { kind: 'hang' };

export interface FakeCounter {
  status: CounterStatus;
  submit: SubmitBehaviour;
  /** Whether a rating window opened from here offers 匿名评价 (`case.anonymous_allowed`). */
  anonymousAllowed: boolean;
  /** Wrong PINs before a staff number is locked, and for how long. */
  maxAttempts: number;
  lockS: number;
  calls: Array<{ call: string; args: unknown }>;
  setSession(patch: Partial<SessionView>): void;
  emit(event: EventName, payload: unknown): void;
  /** The reply to a call; null = never answer (a hung core). */
  answer(call: string, args: unknown): Promise<Result<unknown> | null>;
  /** Where events go (the bridge's sockets, or a memory transport). */
  onEmit: (event: EventName, payload: unknown) => void;
}

export interface FakeBridge extends FakeCounter {
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

const NO_EXTRAS = { pause_reason: null, case: null } as const;

export function idleSession(staff: StaffView = { ...STAFF }): SessionView {
  return {
    state: 'idle',
    staff,
    case_ref: null,
    opened_at: null,
    expires_at: null,
    receipt: null,
    ...NO_EXTRAS,
  };
}

export function signedOutSession(): SessionView {
  return { ...idleSession(), state: 'signed_out', staff: null };
}

export function pausedSession(reason: PauseReason = 'break'): SessionView {
  return { ...idleSession(), state: 'paused', pause_reason: reason };
}

export function openSession(
  caseRef: string | null = null,
  opts: { anonymousAllowed?: boolean; expiresAt?: string | null } = {},
): SessionView {
  return {
    state: 'rating_open',
    staff: { ...STAFF },
    case_ref: caseRef,
    opened_at: new Date().toISOString(),
    expires_at: opts.expiresAt ?? null,
    receipt: null,
    pause_reason: null,
    case: { item_name: null, anonymous_allowed: opts.anonymousAllowed ?? false },
  };
}

export function healthyStatus(session: SessionView = idleSession()): CounterStatus {
  return {
    device_id: 'ctr-test-01',
    session,
    open_case: null,
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
    store: { health: 'ok', message: null, integrity: 'ok', damaged_copy: null, schema_version: 3 },
    alarms: [],
  };
}

const fail = (code: ErrorCode, message: string): Result<unknown> => ({ ok: false, error: { code, message } });

export function createFakeCounter(): FakeCounter {
  const failures = new Map<string, { count: number; lockedUntil: number }>();
  const fake: FakeCounter = {
    status: healthyStatus(),
    submit: { kind: 'ok' },
    anonymousAllowed: false,
    maxAttempts: 5,
    lockS: 300,
    calls: [],
    onEmit: () => {},
    setSession(patch) {
      fake.status.session = { ...fake.status.session, ...patch };
      fake.status.open_case =
        fake.status.session.state === 'rating_open' ? fake.status.session.case_ref : null;
      fake.emit('session', fake.status.session);
    },
    emit(event, payload) {
      fake.onEmit(event, payload);
    },
    async answer(call, args) {
      const s = fake.status;
      const session = s.session;
      const a = (args ?? {}) as Record<string, unknown>;
      switch (call) {
        case 'status.get':
          return { ok: true, value: s };
        case 'session.get':
          return { ok: true, value: session };
        case 'reasons.get':
          return { ok: true, value: REASONS };
        case 'rating.open': {
          if (session.state === 'signed_out') return fail('NOT_SIGNED_IN', 'nobody signed in');
          if (session.state === 'paused') return fail('PAUSED', 'paused');
          if (session.state === 'rating_open') return fail('RATING_OPEN', 'already open');
          const caseRef = (a.case_ref as string | null | undefined) ?? null;
          fake.setSession({
            ...openSession(caseRef, { anonymousAllowed: fake.anonymousAllowed }),
            staff: session.staff,
          });
          return { ok: true, value: s.session };
        }
        case 'rating.cancel':
          if (session.state !== 'rating_open') return fail('NO_RATING_OPEN', 'none open');
          fake.setSession({ ...idleSession(session.staff ?? undefined) });
          return { ok: true, value: s.session };
        case 'rating.activity':
          if (session.state === 'rating_open' && session.expires_at) {
            fake.setSession({ expires_at: new Date(Date.now() + 60_000).toISOString() });
          }
          return { ok: true, value: s.session };
        case 'rating.submit': {
          if (session.state !== 'rating_open') return fail('NO_RATING_OPEN', 'no rating open');
          if (s.store.health !== 'ok') return fail('STORE_UNAVAILABLE', s.store.message ?? 'store');
          const level = a.level as Level;
          const reasons = (a.reasons as string[] | undefined) ?? [];
          if (level <= 2 && reasons.length === 0 && a.reason_timed_out !== true)
            return fail('REASON_REQUIRED', 'a 差评 needs a reason');
          const behaviour = fake.submit;
          if (behaviour.kind === 'hang') return null;
          if (behaviour.kind === 'fail') return fail('STORE_UNAVAILABLE', 'disk full');
          if (behaviour.delayMs) await new Promise((r) => setTimeout(r, behaviour.delayMs));
          fake.setSession({ state: 'thanks', receipt: RECEIPT });
          return { ok: true, value: { receipt: RECEIPT } };
        }
        case 'staff.sign_in': {
          if (session.state !== 'signed_out') return fail('SIGNED_IN', 'someone is signed in');
          const staffNo = String(a.staff_no);
          const now = Date.now();
          const f = failures.get(staffNo);
          if (f && f.lockedUntil > now) {
            const left = Math.ceil((f.lockedUntil - now) / 1000);
            return fail('LOCKED', `密码错误次数过多，请 ${left} 秒后再试 (locked for ${left} s)`);
          }
          const member = ROSTER[staffNo];
          if (!member || member.pin !== a.pin) {
            const count = (f?.count ?? 0) + 1;
            const locked = count >= fake.maxAttempts;
            failures.set(staffNo, {
              count: locked ? 0 : count,
              lockedUntil: locked ? now + fake.lockS * 1000 : 0,
            });
            if (locked)
              return fail(
                'LOCKED',
                `密码错误次数过多，请 ${fake.lockS} 秒后再试 (locked for ${fake.lockS} s)`,
              );
            return fail('BAD_CREDENTIALS', '工号或密码不正确');
          }
          failures.delete(staffNo);
          fake.setSession(idleSession({ ...STAFF, staff_no: staffNo, name: member.name }));
          return { ok: true, value: s.session };
        }
        case 'staff.sign_out':
          if (session.state === 'rating_open') return fail('RATING_OPEN', 'a rating is open');
          fake.setSession(signedOutSession());
          return { ok: true, value: s.session };
        case 'staff.pause':
          if (session.state === 'signed_out') return fail('NOT_SIGNED_IN', 'nobody signed in');
          if (session.state === 'rating_open') return fail('RATING_OPEN', 'a rating is open');
          fake.setSession({
            ...idleSession(session.staff ?? undefined),
            state: 'paused',
            pause_reason: a.reason as PauseReason,
          });
          return { ok: true, value: s.session };
        case 'staff.resume':
          if (session.state !== 'paused') return fail('BAD_REQUEST', 'not paused');
          fake.setSession(idleSession(session.staff ?? undefined));
          return { ok: true, value: s.session };
        default:
          return fail('UNKNOWN_CALL', call);
      }
    },
  };
  return fake;
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

  const bridge = createFakeCounter() as FakeBridge;
  bridge.url = '';
  bridge.onEmit = (event, payload) => {
    const text = JSON.stringify({ kind: 'event', event, payload });
    for (const ws of sockets) if (ws.readyState === WebSocket.OPEN) ws.send(text);
  };
  bridge.close = async () => {
    for (const ws of sockets) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };

  wss.on('connection', (ws) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('message', async (data) => {
      const req = JSON.parse(String(data)) as { id: number; call: string; args: unknown };
      bridge.calls.push({ call: req.call, args: req.args });
      const result = await bridge.answer(req.call, req.args);
      if (result && ws.readyState === WebSocket.OPEN)
        ws.send(JSON.stringify({ kind: 'reply', id: req.id, result }));
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  bridge.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return bridge;
}
