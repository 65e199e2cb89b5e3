import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { deadLetterStats, queueStats } from '../core/store/counter-store.ts';
import { MIGRATIONS } from '../core/store/migrations.ts';
import { openStoreReadonly } from '../core/store/open.ts';
import { EXIT, parse, requireString } from './usage.ts';

export const usage = `usage: haocha status --data DIR

Prints the counter's state as JSON: queue_depth (ratings the hub has not acked), oldest_unsent_age_s,
upload_rate (ratings/s over the last minute) and eta_s (seconds to drain the queue) while the counter runs,
dead_letters (ratings the hub kept aside as unreadable) with the last one's reason,
last_acked_seq, pad link, store health (ok, disk_full, read_only, error; a recovered damaged file),
session (who is signed in, paused, rating open), open_case, heartbeat (last sent and answered), alarms (窗口不空岗, stuck pad key, store),
config (version in force, source, pending bundle, last refused bundle or failed pull). Safe while the counter runs (read-only).
Exit 1 when the store cannot be read.
`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { data: { type: 'string' } });
  const dataDir = resolve(requireString(values.data, '--data DIR'));
  const path = join(dataDir, 'counter.db');
  const out: Record<string, unknown> = { data: dataDir };
  let code: number = EXIT.ok;
  try {
    const db = openStoreReadonly(path);
    try {
      // An app just updated, not yet started: its store is migrated at the counter's next start,
      // and this version's queries do not read the older schema.
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version < MIGRATIONS.length)
        throw new Error(
          `store is at schema ${version}; the counter brings it to ${MIGRATIONS.length} when it next starts`,
        );
      const q = queueStats(db);
      const deviceRow = db.prepare("SELECT value FROM meta WHERE key = 'device_id'").get() as
        | { value: string }
        | undefined;
      out.device_id = deviceRow?.value ?? null;
      out.queue_depth = q.queue_depth;
      out.oldest_unsent_age_s = q.oldest_unsent_at
        ? Math.max(0, Math.round((Date.now() - Date.parse(q.oldest_unsent_at)) / 1000))
        : null;
      out.last_acked_seq = q.last_acked_seq;
      out.last_seq = q.last_seq;
      // Ratings the hub kept aside because it cannot read them: never lost, but IT must look.
      const dead = deadLetterStats(db);
      out.dead_letters = dead.count;
      out.last_dead_letter = dead.last;
      out.store = {
        ok: true,
        path,
        size_bytes: statSync(path).size,
        schema_version: db.pragma('user_version', { simple: true }),
      };
    } finally {
      db.close();
    }
  } catch (e) {
    out.store = { ok: false, path, error: (e as Error).message };
    code = EXIT.failed;
  }
  const runtimePath = join(dataDir, 'runtime.json');
  if (existsSync(runtimePath)) {
    try {
      const rt = JSON.parse(readFileSync(runtimePath, 'utf8')) as {
        pid: number;
        pad: unknown;
        session: unknown;
        hub: unknown;
        updated_at: string;
        open_case?: string | null;
        store?: { health: string; message: string | null; integrity: string; damaged_copy: string | null };
        alarms?: unknown[];
        config?: unknown;
        heartbeat?: unknown;
        sync?: { upload_rate?: number | null; eta_s?: number | null };
      };
      const running = alive(rt.pid);
      out.running = running;
      out.pid = rt.pid;
      // A dead process's last pad state would be a lie: report the link as unknown.
      out.pad = running ? rt.pad : { link: 'none', reason: 'counter not running' };
      out.session = running ? rt.session : null;
      out.hub = running ? rt.hub : 'unknown';
      out.open_case = running ? (rt.open_case ?? null) : null;
      out.alarms = running ? (rt.alarms ?? []) : [];
      // Config version in force, a bundle waiting for the rating window, and why the last one was refused.
      out.config = rt.config ?? null;
      // Last heartbeat to the hub: sent, answered, the hub's time, the last error.
      out.heartbeat = running ? (rt.heartbeat ?? null) : null;
      // Upload progress as the running uploader measures it: ratings/s over the last minute, seconds to drain.
      out.upload_rate = running ? (rt.sync?.upload_rate ?? null) : null;
      out.eta_s = running ? (rt.sync?.eta_s ?? null) : null;
      // The running counter knows whether its last write failed (disk full, read-only).
      if (running && rt.store && out.store && typeof out.store === 'object')
        Object.assign(out.store as object, {
          health: rt.store.health,
          message: rt.store.message,
          integrity: rt.store.integrity,
          damaged_copy: rt.store.damaged_copy,
        });
      out.runtime_updated_at = rt.updated_at;
    } catch (e) {
      out.running = false;
      out.pad = { link: 'none', reason: `runtime.json unreadable: ${(e as Error).message}` };
    }
  } else {
    out.running = false;
    out.pad = { link: 'none', reason: 'counter has not run here' };
    out.session = null;
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  return code;
}
