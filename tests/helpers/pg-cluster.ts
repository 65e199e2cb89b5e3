import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The newest PostgreSQL server binaries: Debian's /usr/lib/postgresql/<major>/bin, else PATH. */
export function findPgBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const majors = readdirSync(root)
      .filter((d) => existsSync(join(root, d, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (majors[0]) return join(root, majors[0], 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const path = which.stdout.trim();
  return which.status === 0 && path ? join(path, '..') : null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface PgCluster {
  /** postgres://postgres@127.0.0.1:PORT/DATABASE */
  url: string;
  /** Makes another database in the same cluster and returns its URL. */
  createDatabase(name: string): string;
  stop(): void;
}

/**
 * A throwaway PostgreSQL cluster: initdb in a temp dir, listening on loopback only (unix socket in
 * the same dir), trust auth for loopback only; `stop()` stops it and removes the dir. PostgreSQL
 * refuses to run as root, so as root it runs as the `postgres` user. `durable: false` (tests)
 * turns fsync off for speed; benchmarks keep PostgreSQL's durable defaults, to compare fairly
 * with the SQLite hub's FULL sync.
 */
export async function startPgCluster(opts: { database: string; durable: boolean }): Promise<PgCluster> {
  const bin = findPgBin();
  if (!bin) throw new Error('PostgreSQL server binaries (initdb) not found: run `node scripts/prereqs.mjs`');
  const dir = mkdtempSync(join(tmpdir(), 'haocha-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]]
      : [join(bin, cmd), args];
    execFileSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  };
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const port = await freePort();
  let started = false;
  const stop = () => {
    if (started) {
      try {
        run('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']);
      } catch {
        // Already gone: nothing left to stop.
      }
      started = false;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    run('initdb', [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=reject',
      '--encoding=UTF8',
      '--locale=C',
      ...(opts.durable ? [] : ['--no-sync']),
    ]);
    // Only loopback TCP may connect, without a password; everything else (the socket too) is refused.
    writeFileSync(
      join(data, 'pg_hba.conf'),
      'host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all reject\n',
    );
    const options = [
      `-p ${port}`,
      "-c listen_addresses='127.0.0.1'",
      `-c unix_socket_directories='${dir}'`,
      '-c max_connections=200',
      // Speed over durability only where the cluster lives for one test run.
      ...(opts.durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
    ].join(' ');
    run('pg_ctl', ['start', '-D', data, '-w', '-t', '60', '-l', join(dir, 'server.log'), '-o', options]);
    started = true;
  } catch (error) {
    stop();
    throw error;
  }
  const createDatabase = (name: string) => {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new RangeError(`not a plain database name: ${name}`);
    run('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-qc', `CREATE DATABASE ${name}`]);
    return `postgres://postgres@127.0.0.1:${port}/${name}`;
  };
  try {
    return { url: createDatabase(opts.database), createDatabase, stop };
  } catch (error) {
    stop();
    throw error;
  }
}
