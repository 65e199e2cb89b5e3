/**
 * A virtual serial cable: two linked ptys made by socat, `padPath` for the simulated pad and
 * `hostPath` for the counter (tests, `haocha pad-sim` without --link, the demo).
 *
 * Verified with socat 1.7.4.4 (see drivers/README.md, "Virtual serial pair"): socat keeps the
 * slave side of both ptys open itself, so a host that closes its end, or is SIGKILLed, causes
 * neither EOF nor EIO on the pad's end and socat keeps running; the next process that opens
 * `hostPath` talks to the same pad. restart() is for the other case, socat itself dying: it
 * recreates the pair at the same paths (the pad end's reader sees a disconnect and must reopen).
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface PtyPair {
  padPath: string;
  hostPath: string;
  /** Kills socat and starts a new one with links at the same paths. */
  restart(): Promise<void>;
  /** Kills socat and removes the links. */
  close(): Promise<void>;
  /** The running socat's pid (for tests that kill it themselves). */
  readonly pid: number | undefined;
}

export function socatPath(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v socat'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return r.status === 0 && path ? path : null;
}

function removeLink(path: string): void {
  try {
    lstatSync(path);
    rmSync(path, { force: true });
  } catch {
    // not there
  }
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function createPtyPair(dir: string, options: { timeoutMs?: number } = {}): Promise<PtyPair> {
  const socat = socatPath();
  if (!socat) throw new Error('socat is not installed (Debian package "socat")');
  const padPath = join(dir, 'pad');
  const hostPath = join(dir, 'host');
  const timeoutMs = options.timeoutMs ?? 5000;
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    // socat replaces existing links, but a SIGKILLed socat leaves dangling ones behind.
    removeLink(padPath);
    removeLink(hostPath);
    const proc = spawn(
      socat,
      ['-d', '-d', `pty,raw,echo=0,link=${padPath}`, `pty,raw,echo=0,link=${hostPath}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child = proc;
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new Error(`socat did not start in ${timeoutMs} ms: ${stderr}`)),
        timeoutMs,
      );
      const fail = (err: Error) => {
        clearTimeout(timer);
        proc.kill('SIGKILL');
        reject(err);
      };
      proc.once('error', fail);
      proc.once('exit', (code, signal) => fail(new Error(`socat exited (${code ?? signal}): ${stderr}`)));
      proc.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        // Logged once both ptys exist and their links are in place.
        if (stderr.includes('starting data transfer loop') && existsSync(padPath) && existsSync(hostPath)) {
          clearTimeout(timer);
          proc.removeAllListeners('exit');
          proc.removeAllListeners('error');
          proc.stderr?.removeAllListeners('data');
          proc.stderr?.resume();
          resolve();
        }
      });
    });
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = null;
    if (proc) {
      proc.kill('SIGTERM');
      await waitExit(proc);
    }
    removeLink(padPath);
    removeLink(hostPath);
  };

  await start();
  return {
    padPath,
    hostPath,
    get pid() {
      return child?.pid;
    },
    restart: async () => {
      await stop();
      await start();
    },
    close: stop,
  };
}
