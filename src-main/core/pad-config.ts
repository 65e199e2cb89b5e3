import { z } from 'zod';
import { type DeviceProfile, PROFILES, profileById } from '../../drivers/profiles.ts';

const serialProfileIds = PROFILES.filter((p) => p.codec !== 'hid-wedge').map((p) => p.id);

/**
 * Which pad the counter reads (the config's `pad` section). Every field has a default, so a
 * counter needs no config file; `haocha counter --pad` overrides `path`.
 */
export const padConfigSchema = z
  .strictObject({
    /**
     * A serial device (`/dev/ttyUSB0`, `COM3`, `/dev/haocha-pad`), `tcp://host:port`, `auto`
     * (discovery: `haocha pad-discover` shows what it would pick), or null for no pad.
     */
    path: z.string().min(1).nullable().default(null),
    /**
     * Device profile id (drivers/profiles.ts): sets the codec, the baud rate and the key → level
     * map (which then replaces `key_levels`). Null: EVP/1 at 9600 on a given path, whatever
     * discovery finds with `auto`, and `key_levels` for the keys. A pad wired in reverse looks
     * like any other on the wire, so it must be named here.
     */
    profile: z
      .string()
      .refine((id) => serialProfileIds.includes(id), {
        message: `must be one of ${serialProfileIds.join(', ')}`,
      })
      .nullable()
      .default(null),
    /**
     * The wanted pad's serial number (from its HELLO, or the USB adapter's): with `auto`,
     * discovery picks this pad wherever the OS put it. Null: the single pad found.
     */
    serial: z.string().min(1).nullable().default(null),
  })
  .default({ path: null, profile: null, serial: null });
export type PadConfig = z.infer<typeof padConfigSchema>;

/** What to attach: the `--pad` flag wins over the config's `pad.path`. */
export type PadSource =
  | { kind: 'none' }
  | { kind: 'sim' }
  | { kind: 'auto'; serial: string | null; profile: DeviceProfile | null }
  | { kind: 'path'; path: string; profile: DeviceProfile | null };

export function padSource(flag: string | null | undefined, config: PadConfig): PadSource {
  const path = flag ?? config.path;
  const profile = config.profile ? (profileById(config.profile) ?? null) : null;
  if (path === null || path === 'none') return { kind: 'none' };
  if (path === 'sim') return { kind: 'sim' };
  if (path === 'auto') return { kind: 'auto', serial: config.serial, profile };
  return { kind: 'path', path, profile };
}

/**
 * The counter configuration with a named profile's wiring applied: its key map replaces
 * `key_levels` (a pad wired in reverse is known only by name). Shared by `haocha counter` and
 * Electron's main process.
 */
export function withPadProfile<C extends { key_levels: [number, number, number, number, number] }>(
  config: C,
  source: PadSource,
): C {
  return source.kind !== 'none' && source.kind !== 'sim' && source.profile
    ? { ...config, key_levels: [...source.profile.keyLevels] as C['key_levels'] }
    : config;
}
