import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHub } from '../../hub/server.ts';
import { run } from '../../src-main/cli/hub.ts';
import { ADMIN_CONFIG_PATH, configBundleSchema } from '../../src-shared/config-bundle.ts';
import { testDb } from '../hub/harness.ts';
import { adminTokenOf, content } from './fixture.ts';

let dir: string;
let db: string | undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'haocha-cfg-cli-'));
  db = await testDb();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `haocha hub …` in this process, with what it printed. */
async function haocha(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const write = { out: process.stdout.write, err: process.stderr.write };
  process.stdout.write = ((chunk: string) => {
    out += chunk;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => {
    err += chunk;
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await run([...argv, '--data', join(dir, 'hub'), ...(db ? ['--db', db] : [])]);
    return { code, out, err };
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
  }
}

describe('haocha hub config', () => {
  it('publishes a file as the next version, which a running hub serves at once; show and history agree', async () => {
    const hub = await startHub({ dataDir: join(dir, 'hub'), db, port: 0, logger: false });
    try {
      const file = join(dir, 'division.json');
      writeFileSync(file, JSON.stringify(content('一号窗口')));
      const published = await haocha('config', 'publish', file);
      expect(published.code).toBe(0);
      const meta = JSON.parse(published.out) as { seq: number; version: string };
      expect(meta.seq).toBe(1);

      const res = await fetch(`${hub.url}${ADMIN_CONFIG_PATH}`, {
        headers: { authorization: `Bearer ${adminTokenOf(join(dir, 'hub'))}` },
      });
      const bundle = configBundleSchema.parse(await res.json());
      expect(bundle.version).toBe(meta.version);
      expect(JSON.stringify(bundle.content)).toContain('一号窗口');

      const shown = await haocha('config', 'show');
      expect(JSON.parse(shown.out)).toMatchObject({ seq: 1, version: meta.version });
      const history = await haocha('config', 'history');
      expect((JSON.parse(history.out) as { versions: { seq: number }[] }).versions.map((v) => v.seq)).toEqual(
        [1],
      );
    } finally {
      await hub.close();
    }
  });

  it('refuses a document the admin API would refuse, naming the field, and publishes nothing', async () => {
    const file = join(dir, 'bad.json');
    const bad = content();
    (bad.windows[0] as { pad_profile: string }).pad_profile = 'no-such-profile';
    writeFileSync(file, JSON.stringify(bad));
    const refused = await haocha('config', 'publish', file);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^config refused: windows\.0\.pad_profile/);
    writeFileSync(file, '{ not json');
    expect((await haocha('config', 'publish', file)).err).toContain('is not JSON');
    const shown = await haocha('config', 'show');
    expect(shown.code).toBe(1);
    expect(shown.err).toContain('no config has been published yet');
    await expect(haocha('config', 'publish')).rejects.toThrow(/name the JSON file/);
  });
});
