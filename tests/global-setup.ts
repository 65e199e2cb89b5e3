import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Builds the renderer once for every browser test, so no test rebuilds it under another's feet. */
export default function setup(): void {
  const repo = fileURLToPath(new URL('../', import.meta.url));
  execFileSync(process.execPath, [`${repo}node_modules/vite/bin/vite.js`, 'build', '--logLevel', 'warn'], {
    cwd: repo,
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: 'inherit',
  });
}
