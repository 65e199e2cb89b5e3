#!/usr/bin/env node
// Checks what the tests need from outside npm before any test runs, so a newcomer meets one
// clear message instead of a cryptic failure deep inside a test. Installs it where it can
// (root with apt-get, as in CI); otherwise prints the exact command and stops.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const NEEDS = [
  { what: 'socat (virtual serial port pairs for the pad tests)', pkg: 'socat', found: () => which('socat') },
  {
    what: 'Chromium (browser tests of the counter UI)',
    pkg: 'chromium',
    found: () => existsSync('/usr/bin/chromium') || which('chromium'),
  },
  {
    what: 'a Chinese font (so the UI renders its text at true size in browser tests)',
    pkg: 'fonts-noto-cjk',
    found: () => spawnSync('fc-list', [':lang=zh'], { encoding: 'utf8' }).stdout?.trim().length > 0,
  },
  {
    what: 'PostgreSQL server (the hub suites run a second time on a throwaway cluster)',
    pkg: 'postgresql',
    found: () => hasInitdb(),
  },
];

/** initdb where tests/pg-global-setup.ts looks: Debian's /usr/lib/postgresql/<major>/bin, or PATH. */
function hasInitdb() {
  const root = '/usr/lib/postgresql';
  if (existsSync(root) && readdirSync(root).some((major) => existsSync(`${root}/${major}/bin/initdb`)))
    return true;
  return which('initdb');
}

function which(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const missing = NEEDS.filter((n) => !n.found());
if (missing.length === 0) process.exit(0);

const pkgs = missing.map((m) => m.pkg);
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
console.error(`Missing system packages: ${missing.map((m) => `${m.pkg} (${m.what})`).join(', ')}`);
if (isRoot && which('apt-get')) {
  console.error(`Installing with apt-get: ${pkgs.join(' ')}`);
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } catch {
    console.error(
      `apt-get failed. Install them by hand:\n  sudo apt-get update && sudo apt-get install -y ${pkgs.join(' ')}`,
    );
    process.exit(1);
  }
  const still = NEEDS.filter((n) => !n.found());
  if (still.length === 0) process.exit(0);
  console.error(`Still missing after apt-get: ${still.map((m) => m.pkg).join(', ')}`);
  process.exit(1);
}
console.error(
  `Install them, then run the tests again:\n  sudo apt-get update && sudo apt-get install -y ${pkgs.join(' ')}`,
);
process.exit(1);
