import { resolve } from 'node:path';
import { EXIT, parse, portOf, requireString, UsageError, untilSignal } from './usage.ts';

export const usage = `usage: haocha hub --data DIR [--db URL] [--port N] [--host ADDR] [--allow-unsigned] [--log-level L]
       haocha hub export --data DIR [--db URL] [--since ISO] [--format jsonl|csv]
       haocha hub token --data DIR [--db URL] --hall ID --window ID [--ttl-hours N] [--hub URL]
       haocha hub revoke --data DIR [--db URL] --device ID --reason TEXT
       haocha hub config publish FILE|- --data DIR [--db URL]
       haocha hub config show|history --data DIR [--db URL]

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
  --log-level L    fatal, error, warn, info (default) or debug: JSON lines on standard output;
                   a refused request is a warn line, a failed one an error line, and only debug
                   also logs each request that succeeded (the volume is in /metrics)

token: makes a single-use enrollment token for one terminal (hall + window), valid 24 h by
default, and prints it as text and as a QR code; the terminal runs
"haocha enroll --data DIR --hub URL --token TOKEN" with it. The hub's admin token for the same
over HTTP (POST /api/v1/admin/enrollment-tokens) is in DIR/admin.token.
revoke: stops a terminal's uploads (it keeps its data and shows why).
config publish: checks the division's configuration (staff, windows, items, reasons, opening hours,
pad profiles; JSON, from FILE or standard input) and publishes it as the next version, which the
hub signs for each terminal; a running hub serves it at once and hints it on the next heartbeats.
config show prints the version in force, config history the versions published, newest first.
`;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug'];

export async function run(argv: string[]): Promise<number> {
  if (argv[0] === 'export') return runExport(argv.slice(1));
  if (argv[0] === 'token') return runToken(argv.slice(1));
  if (argv[0] === 'revoke') return runRevoke(argv.slice(1));
  if (argv[0] === 'config') return runConfig(argv.slice(1));
  const { values } = parse(argv, {
    data: { type: 'string' },
    db: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'allow-unsigned': { type: 'boolean' },
    'log-level': { type: 'string' },
    // The old opt-in, now the default: still accepted so existing scripts keep working.
    'require-signatures': { type: 'boolean' },
  });
  const allowUnsigned = values['allow-unsigned'] === true;
  if (allowUnsigned && values['require-signatures'] === true)
    throw new UsageError('--allow-unsigned and --require-signatures contradict each other');
  const level = values['log-level'] ?? 'info';
  if (!LOG_LEVELS.includes(level))
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${level}`);
  const dataDir = resolve(requireString(values.data, '--data DIR'));
  const { startHub } = await import('../../hub/server.ts');
  const hub = await startHub({
    dataDir,
    logger: { level },
    db: values.db,
    port: portOf(values.port, '--port', 8700),
    host: values.host ?? '127.0.0.1',
    requireSignatures: !allowUnsigned,
    warmParseWorkers: true,
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

/** The admin config API of the hub (PUT/GET /api/v1/admin/config) for IT at the hub's own console. */
async function runConfig(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action !== 'publish' && action !== 'show' && action !== 'history')
    throw new UsageError('haocha hub config: say publish FILE, show or history');
  const file = action === 'publish' ? rest.shift() : undefined;
  if (action === 'publish' && (file === undefined || file.startsWith('--')))
    throw new UsageError('haocha hub config publish: name the JSON file (or - for standard input)');
  const { values } = parse(rest, { data: { type: 'string' }, db: { type: 'string' } });
  const dataDir = resolve(requireString(values.data, '--data DIR'));
  let content: unknown;
  if (file !== undefined) {
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(file === '-' ? 0 : file, 'utf8');
    try {
      content = JSON.parse(text);
    } catch (error) {
      process.stderr.write(`config refused: ${file} is not JSON: ${(error as Error).message}\n`);
      return EXIT.failed;
    }
    // The same check as the admin API, so the command and curl refuse the same documents.
    const { configContentSchema } = await import('../../src-shared/config-bundle.ts');
    const { describeZodError } = await import('../../hub/errors.ts');
    const parsed = configContentSchema.safeParse(content);
    if (!parsed.success) {
      process.stderr.write(`config refused: ${describeZodError(parsed.error)}\n`);
      return EXIT.failed;
    }
    content = parsed.data;
  }
  const { openStore } = await import('../../hub/store/open.ts');
  const store = await openStore({ dataDir, db: values.db });
  try {
    if (action === 'publish') {
      const { content: _c, ...meta } = await store.configs.publish(content, new Date());
      process.stdout.write(`${JSON.stringify(meta)}\n`);
      return EXIT.ok;
    }
    if (action === 'history') {
      process.stdout.write(`${JSON.stringify({ versions: await store.configs.history(10_000) }, null, 2)}\n`);
      return EXIT.ok;
    }
    const current = await store.configs.current();
    if (!current) {
      process.stderr.write('no config has been published yet\n');
      return EXIT.failed;
    }
    process.stdout.write(`${JSON.stringify(current, null, 2)}\n`);
    return EXIT.ok;
  } finally {
    await store.close();
  }
}
