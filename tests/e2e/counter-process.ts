import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import type { BridgeMessage, CallName, Result } from '../../src-shared/index.ts';

const BIN = fileURLToPath(new URL('../../bin/haocha.mjs', import.meta.url));

export interface CounterProcess {
  child: ChildProcess;
  ui: string;
  deviceId: string;
  stderr: () => string;
}

/** Starts `haocha counter` as a real child process and waits for its ready line. */
export async function spawnCounter(args: string[], timeoutMs = 20_000): Promise<CounterProcess> {
  const child = spawn(process.execPath, [BIN, 'counter', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  return await new Promise<CounterProcess>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`counter not ready in ${timeoutMs} ms: ${err}`)),
      timeoutMs,
    );
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`counter exited early (${code ?? sig}): ${err}`));
    });
    lines.on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { ready?: boolean; ui: string; device_id: string };
        if (msg.ready) {
          clearTimeout(timer);
          child.removeAllListeners('exit');
          resolve({ child, ui: msg.ui, deviceId: msg.device_id, stderr: () => err });
        }
      } catch {
        // other output
      }
    });
  });
}

export function kill9(p: CounterProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve();
    p.child.once('exit', () => resolve());
    p.child.kill('SIGKILL');
  });
}

/** A minimal bridge client, as a test's stand-in for the staff screen. */
export class BridgeClient {
  private nextId = 1;
  private readonly pending = new Map<number, (r: Result<unknown>) => void>();
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as BridgeMessage;
      if (msg.kind === 'reply') this.pending.get(msg.id)?.(msg.result);
    });
    ws.on('close', () => {
      for (const done of this.pending.values())
        done({ ok: false, error: { code: 'INTERNAL', message: 'closed' } });
      this.pending.clear();
    });
  }

  static connect(uiUrl: string): Promise<BridgeClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${uiUrl.replace(/^http/, 'ws')}/bridge`);
      ws.once('open', () => resolve(new BridgeClient(ws)));
      ws.once('error', reject);
    });
  }

  call(name: CallName, args: unknown = {}): Promise<Result<unknown>> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, (r) => {
        this.pending.delete(id);
        resolve(r);
      });
      this.ws.send(JSON.stringify({ id, call: name, args }));
    });
  }

  close(): void {
    this.ws.terminate();
  }
}
