/**
 * Installers cannot be built here (electron-builder downloads Electron and NSIS), so the packaging
 * config is checked as data: the targets architecture.md names, the fuses, and that the files it
 * packs are the ones our build produces.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const config = parse(readFileSync(`${repo}electron-builder.yml`, 'utf8')) as Record<string, unknown>;
const pkg = JSON.parse(readFileSync(`${repo}package.json`, 'utf8')) as {
  main: string;
  dependencies: Record<string, string>;
  optionalDependencies: Record<string, string>;
};

type Target = { target: string; arch: string[] };

describe('electron-builder.yml', () => {
  it('builds NSIS for Windows x64, deb and AppImage for Linux x64 and arm64', () => {
    const win = (config.win as { target: Target[] }).target;
    expect(win).toContainEqual({ target: 'nsis', arch: ['x64'] });
    const linux = (config.linux as { target: Target[] }).target;
    for (const t of ['deb', 'AppImage']) {
      expect(linux.find((x) => x.target === t)?.arch.sort()).toEqual(['arm64', 'x64']);
    }
  });

  it('sets the fuses that keep the kiosk from being turned into a Node shell', () => {
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      onlyLoadAppFromAsar: true,
      enableEmbeddedAsarIntegrityValidation: true,
    });
  });

  it('packs what the build produces, with the entry package.json names', () => {
    execFileSync(process.execPath, [`${repo}scripts/build-electron.mjs`], { cwd: repo });
    expect(pkg.main).toBe('dist-electron/main.cjs');
    expect(existsSync(`${repo}${pkg.main}`)).toBe(true);
    expect(existsSync(`${repo}dist-electron/preload.cjs`)).toBe(true);
    expect(config.files).toEqual(expect.arrayContaining(['dist-electron/**', 'dist-renderer/**']));
    // Electron stays optional: where its binary cannot be downloaded, everything else installs.
    expect(pkg.dependencies.electron).toBeUndefined();
    expect(pkg.optionalDependencies.electron).toBeDefined();
    // The sandboxed preload must not drag zod or Node modules in (it bundles the name lists only).
    expect(readFileSync(`${repo}dist-electron/preload.cjs`, 'utf8').length).toBeLessThan(8_000);
  });
});
