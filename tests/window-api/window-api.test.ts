import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AuditEntry, verifyAuditChain } from '../../src-main/core/audit/audit-log.ts';
import { defaultCounterConfig } from '../../src-main/core/config.ts';
import { Counter } from '../../src-main/core/counter.ts';
import { startWindowApi, type WindowApi } from '../../src-main/core/window-api/server.ts';
import { loadOrCreateToken, tokenMatches } from '../../src-main/core/window-api/token.ts';
import {
  caseRatingReplySchema,
  openCaseReplySchema,
  WINDOW_API_TOKEN_FILE,
  windowApiErrorSchema,
} from '../../src-shared/index.ts';

let dir: string;
let counter: Counter;
let api: WindowApi | null;

const offline: typeof fetch = async () => {
  throw new Error('offline');
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-winapi-'));
  counter = new Counter({
    dataDir: dir,
    hubUrl: 'http://127.0.0.1:9',
    config: defaultCounterConfig(),
    fetchImpl: offline,
  });
  api = null;
});
afterEach(async () => {
  await api?.close();
  await counter.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(extra: Partial<Parameters<typeof startWindowApi>[0]> = {}) {
  api = await startWindowApi({ counter, port: 0, log: () => {}, ...extra });
  const token = readFileSync(join(dir, WINDOW_API_TOKEN_FILE), 'utf8').trim();
  return { url: api.url, token };
}

const aCase = {
  case_no: 'C-2026-0042',
  item_code: '11650900MB1234567X4000117001000',
  item_name: '食品经营许可证核发',
  applicant_type: 'person',
  anonymous_allowed: true,
};

async function call(
  url: string,
  path: string,
  init: { method?: string; token?: string | null; body?: unknown; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    body:
      init.body === undefined
        ? undefined
        : typeof init.body === 'string'
          ? init.body
          : JSON.stringify(init.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

function audit(): AuditEntry[] {
  // Presence entries (the demo roster's auto sign-in at start) belong to the session's tests.
  return counter.store.db
    .prepare("SELECT * FROM audit_log WHERE action NOT LIKE 'presence.%' ORDER BY seq")
    .all() as AuditEntry[];
}

describe('window API: access', () => {
  it('makes a 0600 token file at first start and keeps it across restarts', () => {
    const a = loadOrCreateToken(dir);
    expect(a.created).toBe(true);
    expect(a.token.length).toBeGreaterThanOrEqual(40);
    if (process.platform !== 'win32') expect(statSync(a.path).mode & 0o777).toBe(0o600);
    const b = loadOrCreateToken(dir);
    expect(b).toMatchObject({ token: a.token, created: false });
    expect(tokenMatches(a.token, a.token)).toBe(true);
    expect(tokenMatches(`${a.token}x`, a.token)).toBe(false);
    expect(tokenMatches(undefined, a.token)).toBe(false);
  });

  it('refuses to listen anywhere but loopback', async () => {
    for (const host of ['0.0.0.0', '::', 'localhost', '192.168.1.10']) {
      await expect(startWindowApi({ counter, port: 0, host, log: () => {} })).rejects.toThrow(
        /loopback only/,
      );
    }
    const { url } = await start();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('answers 401 without a token or with a wrong one, and opens nothing', async () => {
    const { url, token } = await start();
    for (const t of [null, 'wrong', `${token}x`, token.slice(0, -1)]) {
      const r = await call(url, '/api/v1/case', { token: t, body: aCase });
      expect(r.status).toBe(401);
      expect(windowApiErrorSchema.parse(r.body)).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
    }
    expect((await call(url, '/api/v1/case/C-1/rating')).status).toBe(401);
    expect((await call(url, '/api/v1/call', { body: { ticket: 'A001' } })).status).toBe(401);
    expect(counter.session.view().state).toBe('idle');
    expect(audit()).toHaveLength(0);
  });

  it('refuses a Host header that is not loopback (DNS rebinding)', async () => {
    const { url, token } = await start();
    // fetch will not send a forged Host; a raw request does, as a rebinding browser would.
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        `${url}/api/v1/case/C-1/rating`,
        { headers: { host: 'evil.example', authorization: `Bearer ${token}` } },
        (res) => {
          let body = '';
          res.on('data', (d) => {
            body += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).code).toBe('FORBIDDEN_HOST');
  });
});

describe('window API: cases', () => {
  it('rejects bad requests with 400 and a message naming the field, writing nothing', async () => {
    const { url, token } = await start();
    const bad: [unknown, RegExp][] = [
      [{ ...aCase, case_no: '' }, /case_no/],
      [{ ...aCase, applicant_type: 'robot' }, /applicant_type/],
      [{ ...aCase, anonymous_allowed: 'yes' }, /anonymous_allowed/],
      [{ ...aCase, extra: 1 }, /extra/],
      [{ case_no: 'C-1' }, /item_code/],
      ['{not json', /./],
    ];
    for (const [body, msg] of bad) {
      const r = await call(url, '/api/v1/case', { token, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(windowApiErrorSchema.parse(r.body)).toMatchObject({ statusCode: 400, code: 'BAD_REQUEST' });
      expect(r.body.message).toMatch(msg);
    }
    const badCaller = await call(url, '/api/v1/case', {
      token,
      body: aCase,
      headers: { 'x-haocha-caller': 'has spaces' },
    });
    expect(badCaller.status).toBe(400);
    expect(counter.session.view().state).toBe('idle');
    expect(counter.store.db.prepare('SELECT COUNT(*) AS n FROM api_cases').get()).toEqual({ n: 0 });
    expect(audit()).toHaveLength(0);
  });

  it('opens a case, the citizen rates on the screen, and GET shows rated with the receipt but no level', async () => {
    const { url, token } = await start();
    const opened = await call(url, '/api/v1/case', {
      token,
      body: aCase,
      headers: { 'x-haocha-caller': 'banjian-system', 'user-agent': 'banjian/3.2' },
    });
    expect(opened.status).toBe(201);
    expect(openCaseReplySchema.parse(opened.body)).toMatchObject({
      case_no: aCase.case_no,
      status: 'pending',
    });
    expect(counter.session.view()).toMatchObject({ state: 'rating_open', case_ref: aCase.case_no });

    const pending = await call(url, `/api/v1/case/${aCase.case_no}/rating`, { token });
    expect(pending).toEqual({
      status: 200,
      body: { case_no: aCase.case_no, status: 'pending', receipt: null, rated_at: null },
    });

    const { receipt } = counter.submitScreenRating({ level: 1, reason_timed_out: true });
    const rated = await call(url, `/api/v1/case/${aCase.case_no}/rating`, { token });
    expect(rated.status).toBe(200);
    expect(caseRatingReplySchema.parse(rated.body)).toMatchObject({ status: 'rated', receipt });
    expect(JSON.stringify(rated.body)).not.toMatch(/level/);

    // The case is logged with its caller, in the same chain as the rating (threat T8).
    const rows = audit();
    const caseRow = rows.find((r) => r.action === 'case.opened');
    expect(caseRow?.actor).toBe('api:banjian-system');
    expect(JSON.parse(caseRow?.details ?? '{}')).toMatchObject({
      case_no: aCase.case_no,
      caller: {
        name: 'banjian-system',
        user_agent: 'banjian/3.2',
        peer: expect.stringMatching(/^127\.0\.0\.1:/),
      },
    });
    expect(rows.map((r) => r.action)).toEqual(['case.opened', 'rating.open', 'rating.committed']);
    expect(rows[1]?.actor).toBe('api:banjian-system');
    expect(verifyAuditChain(counter.store.db).ok).toBe(true);

    // 一事一评: the same case cannot be opened again.
    const again = await call(url, '/api/v1/case', { token, body: aCase });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('CASE_ALREADY_RATED');
  });

  it('a pad press rates the case opened over the API', async () => {
    const { url, token } = await start();
    expect((await call(url, '/api/v1/case', { token, body: aCase })).status).toBe(201);
    expect(counter.handlePadPress({ bootId: 5, pressId: 1, key: 2, uptimeMs: 100 })).toBe(0);
    const r = await call(url, `/api/v1/case/${aCase.case_no}/rating`, { token });
    expect(r.body).toMatchObject({ status: 'rated', receipt: counter.session.view().receipt });
  });

  it('answers 404 for a case never opened and 409 while a rating is open', async () => {
    const { url, token } = await start();
    const missing = await call(url, '/api/v1/case/NOPE-1/rating', { token });
    expect(missing.status).toBe(404);
    expect(windowApiErrorSchema.parse(missing.body).code).toBe('CASE_NOT_FOUND');

    counter.openRating('STAFF-OPENED');
    const busy = await call(url, '/api/v1/case', { token, body: aCase });
    expect(busy.status).toBe(409);
    expect(busy.body).toMatchObject({ code: 'RATING_OPEN', message: expect.stringMatching(/STAFF-OPENED/) });
    expect(counter.session.view().case_ref).toBe('STAFF-OPENED');
    expect(counter.store.db.prepare('SELECT COUNT(*) AS n FROM api_cases').get()).toEqual({ n: 0 });
  });

  it('answers 409 when nobody is signed in or the window is paused, and stores nothing', async () => {
    const { url, token } = await start();
    counter.pause('meeting');
    const paused = await call(url, '/api/v1/case', { token, body: aCase });
    expect(paused).toMatchObject({ status: 409, body: { code: 'PAUSED' } });
    counter.resume();
    counter.signOut();
    const unstaffed = await call(url, '/api/v1/case', { token, body: aCase });
    expect(unstaffed).toMatchObject({ status: 409, body: { code: 'NOT_SIGNED_IN' } });
    expect(counter.store.db.prepare('SELECT COUNT(*) AS n FROM api_cases').get()).toEqual({ n: 0 });
  });

  it('carries the case details into the national record, and the contact only when not anonymous', async () => {
    const { url, token } = await start();
    const full = {
      ...aCase,
      case_status: '办结',
      accepted_at: '2026-11-26T01:00:00.000Z',
      finished_at: '2026-11-26T01:20:00.000Z',
      dept_code: 'SCJGJ',
      applicant: { name: '张三', phone: '13900001111' },
    };
    expect((await call(url, '/api/v1/case', { token, body: full })).status).toBe(201);
    counter.submitScreenRating({ level: 5 });
    const [rec] = counter.store.unsentBatch(10);
    expect(rec).toMatchObject({
      case_ref: aCase.case_no,
      item_code: aCase.item_code,
      item_name: aCase.item_name,
      case_status: '办结',
      accepted_at: full.accepted_at,
      finished_at: full.finished_at,
      dept_id: 'SCJGJ',
      rater_type: 'person',
      anonymous: false,
      rater: { name: '张三', phone: '13900001111' },
    });
    // The contact is personal data: it is not written to the audit log.
    expect(JSON.stringify(audit())).not.toMatch(/13900001111|张三/);
    const bad = await call(url, '/api/v1/case', {
      token,
      body: { ...aCase, case_no: 'C-2', applicant: { phone: 'call me' } },
    });
    expect(bad).toMatchObject({ status: 400, body: { message: expect.stringMatching(/applicant\.phone/) } });
  });

  it('a case whose window closed without a rating is not_rated, and may be opened again', async () => {
    const { url, token } = await start();
    await call(url, '/api/v1/case', { token, body: aCase });
    counter.cancelRating();
    const r = await call(url, `/api/v1/case/${aCase.case_no}/rating`, { token });
    expect(r.body).toMatchObject({ status: 'not_rated', receipt: null });
    expect((await call(url, '/api/v1/case', { token, body: aCase })).status).toBe(201);
    expect(counter.store.db.prepare('SELECT opens FROM api_cases').get()).toEqual({ opens: 2 });
  });

  it('writes nothing and opens nothing when the store cannot commit', async () => {
    const { url, token } = await start();
    counter.store.db.exec(`CREATE TRIGGER fail_case_audit BEFORE INSERT ON audit_log
      WHEN NEW.action = 'case.opened' BEGIN SELECT RAISE(ABORT, 'disk full'); END;`);
    const r = await call(url, '/api/v1/case', { token, body: aCase });
    expect(r.status).toBe(503);
    expect(r.body.code).toBe('STORE_UNAVAILABLE');
    expect(counter.store.db.prepare('SELECT COUNT(*) AS n FROM api_cases').get()).toEqual({ n: 0 });
    expect(counter.session.view().state).toBe('idle');
  });
});

describe('window API: queue calls, webhook, OpenAPI', () => {
  it('stores a called ticket with its audit entry and emits it', async () => {
    const { url, token } = await start();
    const seen: unknown[] = [];
    api?.events.on('call', (c) => seen.push(c));
    const r = await call(url, '/api/v1/call', {
      token,
      body: { ticket: 'A023', service_name: '不动产登记' },
      headers: { 'x-haocha-caller': 'queue' },
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ id: 1, ticket: 'A023' });
    expect(seen).toEqual([
      expect.objectContaining({ ticket: 'A023', service_name: '不动产登记', caller: 'queue' }),
    ]);
    expect(counter.store.db.prepare('SELECT ticket FROM queue_calls').all()).toEqual([{ ticket: 'A023' }]);
    expect(audit().map((e) => [e.actor, e.action])).toEqual([['api:queue', 'queue.called']]);
    expect((await call(url, '/api/v1/call', { token, body: { ticket: '' } })).status).toBe(400);
  });

  it('posts the result to the webhook, signed, retrying until it is accepted, without the level', async () => {
    const received: { body: string; sig: string | undefined }[] = [];
    let failFirst = 2;
    const hook: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        received.push({ body, sig: req.headers['x-haocha-signature'] as string | undefined });
        res.statusCode = failFirst-- > 0 ? 503 : 204;
        res.end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    try {
      const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/haocha`;
      const { url, token } = await start({ webhook: { url: hookUrl, retryDelaysMs: [10, 10, 10] } });
      await call(url, '/api/v1/case', { token, body: aCase });
      const { receipt } = counter.submitScreenRating({ level: 2, reason_timed_out: true });
      for (let i = 0; i < 100 && received.length < 3; i++) {
        await api?.webhookIdle();
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(received).toHaveLength(3);
      const last = received[2];
      const payload = JSON.parse(last?.body ?? '{}');
      expect(payload).toEqual({
        device_id: counter.store.deviceId,
        window_id: 'W03',
        case_no: aCase.case_no,
        status: 'rated',
        receipt,
        rated_at: expect.any(String),
      });
      expect(last?.sig).toBe(
        `sha256=${createHmac('sha256', token)
          .update(last?.body ?? '')
          .digest('hex')}`,
      );
    } finally {
      await new Promise((r) => hook.close(r));
    }
  });

  it('a webhook that never answers does not block ratings', async () => {
    const logs: string[] = [];
    api = await startWindowApi({
      counter,
      port: 0,
      log: (m) => logs.push(m),
      webhook: { url: 'http://127.0.0.1:9/nothing-listens', retryDelaysMs: [5] },
    });
    const token = readFileSync(join(dir, WINDOW_API_TOKEN_FILE), 'utf8').trim();
    await call(api.url, '/api/v1/case', { token, body: aCase });
    expect(counter.submitScreenRating({ level: 5, reason_timed_out: true }).receipt).toMatch(
      /^[0-9A-F]{4}-[0-9A-F]{4}$/,
    );
    for (let i = 0; i < 100 && !logs.some((l) => /giving up/.test(l)); i++) {
      await api.webhookIdle();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(logs.some((l) => /giving up after 2 attempts/.test(l))).toBe(true);
    expect(counter.store.queueStats().last_seq).toBe(1);
  });

  it('serves an OpenAPI 3.1 document generated from the schemas, without a token', async () => {
    const { url } = await start();
    const res = await fetch(`${url}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const doc = JSON.parse(await res.text());
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/case', '/api/v1/case/{no}/rating', '/api/v1/call', '/openapi.json']),
    );
    const req = doc.components.schemas.OpenCaseRequest;
    expect(req.required).toEqual(
      expect.arrayContaining(['case_no', 'item_code', 'item_name', 'applicant_type', 'anonymous_allowed']),
    );
    expect(req.properties.applicant_type.enum).toEqual(['person', 'company']);
    expect(JSON.stringify(doc.components.schemas.CaseRatingReply)).not.toMatch(/level/);
  });

  it('tells the webhook when an API case closes without a rating', async () => {
    const bodies: string[] = [];
    const hook: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        bodies.push(body);
        res.end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    try {
      const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/`;
      const { url, token } = await start({ webhook: { url: hookUrl, retryDelaysMs: [] } });
      await call(url, '/api/v1/case', { token, body: aCase });
      counter.cancelRating();
      // A rating window staff open without a case, or for a case the API never saw, sends nothing.
      counter.openRating(null);
      counter.submitScreenRating({ level: 4, reason_timed_out: true });
      for (let i = 0; i < 100 && bodies.length < 1; i++) {
        await api?.webhookIdle();
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, 50));
      expect(bodies.map((b) => JSON.parse(b))).toEqual([
        expect.objectContaining({
          case_no: aCase.case_no,
          status: 'not_rated',
          receipt: null,
          rated_at: null,
        }),
      ]);
    } finally {
      await new Promise((r) => hook.close(r));
    }
  });

  it('answers 415 for a body that is not JSON and 413 for one too large', async () => {
    const { url, token } = await start();
    const text = await fetch(`${url}/api/v1/case`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
      body: 'case_no=1',
    });
    expect(text.status).toBe(415);
    expect(windowApiErrorSchema.parse(await text.json()).code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const big = await call(url, '/api/v1/case', { token, body: { ...aCase, item_name: 'x'.repeat(20_000) } });
    expect(big.status).toBe(413);
    expect(big.body.code).toBe('PAYLOAD_TOO_LARGE');
    expect(counter.session.view().state).toBe('idle');
  });

  it('answers unknown routes with the error shape', async () => {
    const { url, token } = await start();
    const r = await call(url, '/api/v1/nothing', { token });
    expect(r.status).toBe(404);
    expect(windowApiErrorSchema.parse(r.body).code).toBe('NOT_FOUND');
  });
});
