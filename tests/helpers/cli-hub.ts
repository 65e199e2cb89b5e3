import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/haocha.mjs', import.meta.url));

/**
 * `haocha hub ARGS --port 0` in a child process. The child is there at once (for the caller's
 * clean-up); `url` resolves once the hub prints where it listens, and rejects, with its standard
 * error, if it exits first.
 */
export function spawnCliHub(...args: string[]): { child: ChildProcess; url: Promise<string> } {
  const child = spawn(process.execPath, [BIN, 'hub', ...args, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (d) => {
      out += d;
      const listening = /hub listening on (http:\/\/\S+)/.exec(out)?.[1];
      if (listening) resolve(listening);
    });
    child.stderr?.on('data', (d) => {
      err += d;
    });
    child.on('exit', (code) => reject(new Error(`hub exited ${code}: ${err}`)));
  });
  return { child, url };
}
