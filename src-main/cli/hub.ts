import { resolve } from 'node:path';
import { EXIT, parse, portOf, requireString, UsageError, untilSignal } from './usage.ts';

export const usage = `usage: haocha hub --data DIR [--port N] [--host ADDR]
       haocha hub export --data DIR [--since ISO] [--format jsonl|csv]

Runs the division's hub on SQLite in DIR (created if missing): ratings ingest, statistics,
and a web page of today's counts at http://ADDR:N/.

  --data DIR       where the hub keeps hub.db
  --port N         TCP port (default 8700; 0 picks a free one)
  --host ADDR      listen address (default 127.0.0.1)
  --since ISO      export: only ratings rated at or after this time
  --format F       export: jsonl (default) or csv, to standard output
`;

export async function run(argv: string[]): Promise<number> {
  if (argv[0] === 'export') return runExport(argv.slice(1));
  const { values } = parse(argv, {
    data: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
  });
  const dataDir = resolve(requireString(values.data, '--data DIR'));
  const { startHub } = await import('../../hub/server.ts');
  const hub = await startHub({
    dataDir,
    port: portOf(values.port, '--port', 8700),
    host: values.host ?? '127.0.0.1',
  });
  process.stdout.write(`hub listening on ${hub.url} (data in ${dataDir})\n`);
  await untilSignal();
  await hub.close();
  return EXIT.ok;
}

async function runExport(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    data: { type: 'string' },
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
  const { openHubStore } = await import('../../hub/store/sqlite.ts');
  const { exportRatings } = await import('../../hub/export.ts');
  const store = openHubStore(dataDir);
  try {
    await exportRatings(store, { since: values.since, format }, (chunk) => process.stdout.write(chunk));
  } finally {
    await store.close();
  }
  return EXIT.ok;
}
