import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BROWSERS = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
];

/**
 * Opens the counter UI in a local Chromium/Chrome app window when one is found and a display
 * exists; otherwise just says where the UI is. Returns a function that closes the window.
 */
export async function openUi(
  url: string,
  log: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Promise<(() => void) | null> {
  const browser = BROWSERS.find((b) => existsSync(b));
  const hasDisplay =
    process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
  if (!browser || !hasDisplay) {
    log(
      `open the counter UI in a browser: ${url}${browser ? '' : ' (no Chromium/Chrome found to open it for you)'}`,
    );
    return null;
  }
  const profile = mkdtempSync(join(tmpdir(), 'haocha-ui-'));
  const child = spawn(
    browser,
    [
      `--app=${url}`,
      `--user-data-dir=${profile}`,
      '--no-first-run',
      '--disable-background-networking',
      '--disable-sync',
      '--disable-component-update',
    ],
    { stdio: 'ignore', detached: false },
  );
  child.on('error', () => log(`could not start ${browser}; open ${url} yourself`));
  log(`counter UI opened in ${browser}: ${url}`);
  return () => {
    if (child.exitCode === null) child.kill();
  };
}
