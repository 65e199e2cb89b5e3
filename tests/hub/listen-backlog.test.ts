import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LISTEN_BACKLOG } from '../../hub/server.ts';
import { spawnCliHub } from '../helpers/cli-hub.ts';
import { makeTempDir } from './harness.ts';

/** Node's own listen backlog, which a fleet reconnecting at once overflows. */
const NODE_DEFAULT_BACKLOG = 511;

function somaxconn(): number {
  try {
    return Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim());
  } catch {
    return 0;
  }
}

/** This process's soft limit of open files (the test holds one per connection). */
function openFilesLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft ?? 0);
  } catch {
    return 0;
  }
}

// Room well past Node's default, within what the kernel and this process's descriptors allow.
const CONNECTIONS = Math.min(1200, LISTEN_BACKLOG, somaxconn() - 8, openFilesLimit() - 200);

let hub: ChildProcess | undefined;
let dir: string | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  if (hub && hub.exitCode === null) {
    hub.kill('SIGCONT');
    const exited = new Promise((r) => hub?.once('exit', r));
    hub.kill('SIGTERM');
    await exited;
  }
  hub = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function startHub(dataDir: string): Promise<URL> {
  const started = spawnCliHub('--data', dataDir);
  hub = started.child;
  return new URL(await started.url);
}

/** Resolves true once connected, false if not within `ms` (its SYN dropped, waiting to be retried). */
function connectWithin(url: URL, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    sockets.push(socket);
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

describe('the hub listen backlog', () => {
  it.skipIf(CONNECTIONS <= NODE_DEFAULT_BACKLOG + 100)(
    // Skipped only where net.core.somaxconn or the open-files limit leaves too little room past
    // Node's own default for the difference to show.
    'holds a fleet of connections while the event loop cannot accept them, instead of dropping their SYNs',
    async () => {
      dir = await makeTempDir();
      const url = await startHub(dir);
      // The hub's event loop stops (as it does, for a moment, under a group commit): only the
      // kernel's accept queue holds new connections now. One it cannot hold is retried by TCP
      // after a second or more, which is what the counter behind it would wait.
      hub?.kill('SIGSTOP');
      const connected = await Promise.all(Array.from({ length: CONNECTIONS }, () => connectWithin(url, 800)));
      expect(connected.filter(Boolean).length).toBe(CONNECTIONS);
      hub?.kill('SIGCONT');
      // And the hub, running again, serves on them.
      const res = await fetch(new URL('/healthz', url));
      expect(res.status).toBe(200);
    },
    30_000,
  );
});
