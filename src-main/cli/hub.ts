import { resolve } from 'node:path';
import { EXIT, parse, portOf, requireString, UsageError, untilSignal } from './usage.ts';

export const usage = `usage: haocha hub --data DIR [--db URL] [--port N] [--host ADDR] [--allow-unsigned]
       haocha hub export --data DIR [--db URL] [--since ISO] [--format jsonl|csv]
       haocha hub token --data DIR [--db URL] --hall ID --window ID [--ttl-hours N] [--hub URL]
       haocha hub revoke --data DIR [--db URL] --device ID --reason TEXT

Runs the division's hub on SQLite in DIR (created if missing), or on PostgreSQL with --db: ratings ingest, statistics,
and a web page of today's counts at http://ADDR:N/.

  --data DIR       where the hub keeps hub.db (and its admin token and keys, whatever the engine)
  --db URL         postgres://USER:PASS@HOST:5432/DB: keep the hub's data in PostgreSQL instead of
                   SQLite (every subcommand takes it; the schema is created or migrated at start)
  --port N         TCP port (default 8700; 0 picks a free one)
  --host ADDR      listen address (default 127.0.0.1)
  --since ISO      export: only ratings rated at or after this time
  --format F       export: jsonl (default) or csv, to standard output
  --allow-unsigned  also accept uploads from terminals not enrolled yet (transition only; by
                   default the hub takes only requests signed by an enrolled terminal)

token: makes a single-use enrollment token for one terminal (hall + window), valid 24 h by
default, and prints it as text and as a QR code; the terminal runs
"haocha enroll --data DIR --hub URL --token TOKEN" with it. The hub's admin token for the same
over HTTP (POST /api/v1/admin/enrollment-tokens) is in DIR/admin.token.
revoke: stops a terminal's uploads (it keeps its data and shows why).
`;

export async function run(argv: string[]): Promise<number> {
  if (argv[0] === 'export') return runExport(argv.slice(1));
  if (argv[0] === 'token') return runToken(argv.slice(1));
  if (argv[0] === 'revoke') return runRevoke(argv.slice(1));
  const { values } = parse(argv, {
    data: { type: 'string' },
    db: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'allow-unsigned': { type: 'boolean' },
    // The old opt-in, now the default: still accepted so existing scripts keep working.
    'require-signatures': { type: 'boolean' },
  });
  const allowUnsigned = values['allow-unsigned'] === true;
  if (allowUnsigned && values['require-signatures'] === true)
    throw new UsageError('--allow-unsigned and --require-signatures contradict each other');
  const dataDir = resolve(requireString(values.data, '--data DIR'));
  const { startHub } = await import('../../hub/server.ts');
  const hub = await startHub({
    dataDir,
    db: values.db,
    port: portOf(values.port, '--port', 8700),
    host: values.host ?? '127.0.0.1',
    requireSignatures: !allowUnsigned,
  });
  if (allowUnsigned)
    process.stderr.write(
      'warning: --allow-unsigned: uploads from terminals that are not enrolled are accepted; ' +
        'enroll every terminal (haocha hub token, haocha enroll) and drop this flag\n',
    );
  process.stdout.write(`hub listening on ${hub.url} (data in ${dataDir})\n`);
  await untilSignal();
  await hub.close();
  return EXIT.ok;
}

async function runExport(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    data: { type: 'string' },
    db: { type: 'string' },
    since: { type: 'string' },
    format: { type: 'string' },
  });
  const dataDir = resolve(requireString(values.data, '--data DIR'));
  const format = values.format ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'csv')
    throw new UsageError(`--format must be jsonl or csv, got ${format}`);
  if (values.since !== undefined && Number.isNaN(Date.parse(values.since))) {
    throw new UsageError(`--since must be an ISO time, got ${values.since}`);
  }
  const { openStore } = await import('../../hub/store/open.ts');
  const { exportRatings } = await import('../../hub/export.ts');
  const store = await openStore({ dataDir, db: values.db });
  try {
    await exportRatings(store, { since: values.since, format }, (chunk) => process.stdout.write(chunk));
  } finally {
    await store.close();
  }
  return EXIT.ok;
}

async function runToken(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    data: { type: 'string' },
    db: { type: 'string' },
    hall: { type: 'string' },
    window: { type: 'string' },
    'ttl-hours': { type: 'string' },
    hub: { type: 'string' },
  });
  const dataDir = resolve(requireString(values.data, '--data DIR'));
  const hall = requireString(values.hall, '--hall ID');
  const window = requireString(values.window, '--window ID');
  const hours = values['ttl-hours'] === undefined ? 24 : Number(values['ttl-hours']);
  if (!Number.isFinite(hours) || hours < 1 / 60 || hours > 168)
    throw new UsageError('--ttl-hours must be between 0.02 and 168');
  const { openStore } = await import('../../hub/store/open.ts');
  const store = await openStore({ dataDir, db: values.db });
  let token: { token: string; expires_at: string };
  try {
    token = await store.trust.createToken(hall, window, Math.round(hours * 3600), new Date());
  } finally {
    await store.close();
  }
  const qr = await import('qrcode');
  const hubUrl = values.hub ?? 'http://HUB:8700';
  const command = `haocha enroll --data DATA --hub ${hubUrl} --token ${token.token}`;
  process.stdout.write(
    `enrollment token for ${hall} / ${window}, single use, valid until ${token.expires_at}:\n\n  ${token.token}\n\n` +
      `on the terminal: ${command}\n\n` +
      (await qr.toString(JSON.stringify({ hub: hubUrl, token: token.token, hall, window }), {
        type: 'terminal',
        small: true,
      })),
  );
  return EXIT.ok;
}

async function runRevoke(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    data: { type: 'string' },
    db: { type: 'string' },
    device: { type: 'string' },
    reason: { type: 'string' },
  });
  const dataDir = resolve(requireString(values.data, '--data DIR'));
  const device = requireString(values.device, '--device ID');
  const reason = requireString(values.reason, '--reason TEXT');
  const { openStore } = await import('../../hub/store/open.ts');
  const store = await openStore({ dataDir, db: values.db });
  try {
    if (!(await store.trust.revoke(device, reason, new Date()))) {
      process.stderr.write(`no enrolled, unrevoked device ${device}\n`);
      return EXIT.failed;
    }
  } finally {
    await store.close();
  }
  process.stdout.write(`revoked ${device}: ${reason}\n`);
  return EXIT.ok;
}
