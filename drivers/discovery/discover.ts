/**
 * Pad discovery: list the serial ports, probe the likely ones (USB fingerprint from profiles.ts,
 * EVP/1 before KEYLINE), and pick the pad by what it is, not where it is.
 *
 * Paths are not stable (COM3 becomes COM5, ttyUSB0 becomes ttyUSB1 after a replug or a reboot),
 * so with a wanted serial (the counter config's `pad.serial`) the pad is the port whose HELLO
 * serial, or failing that USB serial number, equals it. A CH340 has no USB serial number and a
 * KEYLINE pad says nothing about itself: such a pad cannot be told apart from another, so it is
 * chosen only when it is the single candidate; with two, discovery refuses to guess and says so.
 */

import { type DeviceProfile, type PortInfo, PROFILES, profileById } from '../profiles.ts';
import { SerialTransport } from '../transports/serial.ts';
import type { Transport } from '../transports/types.ts';
import { classifyOpenError, type OpenFailure, type ProbeResult, probeEvp1, probeKeyline } from './probe.ts';
import { type RankedPort, rankPorts } from './score.ts';

export type PortLister = () => Promise<PortInfo[]>;

export interface DiscoverOptions {
  /** Default: node-serialport's `SerialPort.list()`. Tests pass pty paths with made-up USB data. */
  list?: PortLister;
  /** Opens a port for one probe. Default: a SerialTransport at the profile's baud rate. */
  openTransport?: (path: string, baudRate: number) => Transport;
  /** The pad wanted (config `pad.serial`): its HELLO serial or USB serial number. */
  wantedSerial?: string | null;
  /** Probe only this profile (config `pad.profile`); default: every serial profile that fits the port. */
  profile?: string | null;
  profiles?: readonly DeviceProfile[];
  /** Probe ports without a USB fingerprint too (`haocha pad-discover --port`: paths named by hand). */
  probeUnknown?: boolean;
  /** EVP/1: how long to wait for HELLO after GET_INFO. Default 1000 ms (pad-protocol.md). */
  helloTimeoutMs?: number;
  /** KEYLINE: how long to listen for a key line (somebody must press a key). Default 3000 ms. */
  keylineListenMs?: number;
}

export interface FoundPad {
  path: string;
  profile: string;
  codec: 'evp1' | 'keyline';
  baudRate: number;
  /** From HELLO (EVP/1); null for KEYLINE. */
  model: string | null;
  firmware: string | null;
  padSerial: string | null;
  /** From the USB descriptor; null when the chip has none (CH340) or the port is not USB. */
  usbSerial: string | null;
  chip: string | null;
  /** How this pad can be recognised on another path; null when it cannot. */
  identity: 'pad-serial' | 'usb-serial' | null;
}

export type RejectReason = 'no_fingerprint' | OpenFailure['kind'] | 'no_answer' | 'garbage';

export interface RejectedPort {
  path: string;
  reason: RejectReason;
  errno: string | null;
  detail: string;
}

export interface DiscoveryReport {
  wanted: { serial: string | null; profile: string | null };
  /** Ports as listed, best first, with their fingerprint. */
  ports: { path: string; score: number; fingerprint: string; usbSerial: string | null }[];
  found: FoundPad[];
  rejected: RejectedPort[];
  chosen: FoundPad | null;
  /** One sentence: why this pad, or why none. */
  decision: string;
  notes: string[];
}

async function defaultLister(): Promise<PortInfo[]> {
  // Loaded here so the pure parts of discovery (and their tests) need no native binding.
  const { SerialPort } = await import('serialport');
  return SerialPort.list();
}

/** One probe per (codec, baud): profiles that differ only in their key map look the same on the wire. */
function probePlan(ranked: RankedPort, only: DeviceProfile | null): DeviceProfile[] {
  const candidates = only ? [only] : ranked.profiles;
  const seen = new Set<string>();
  return candidates.filter((p) => {
    const key = `${p.codec}@${p.baudRate}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

type PortOutcome = { found: FoundPad } | { rejected: RejectedPort };

async function probePort(
  ranked: RankedPort,
  only: DeviceProfile | null,
  opts: Required<Pick<DiscoverOptions, 'openTransport' | 'helloTimeoutMs' | 'keylineListenMs'>>,
): Promise<PortOutcome> {
  const { port, match } = ranked;
  const usbSerial = port.serialNumber ? port.serialNumber : null;
  const base = { path: port.path, usbSerial, chip: match.chip?.chip ?? null };
  const plan = probePlan(ranked, only);
  if (plan.length === 0) {
    const detail = only
      ? `${match.reason}; profile ${only.id} is not a serial profile`
      : `${match.reason}: not probed`;
    return { rejected: { path: port.path, reason: 'no_fingerprint', errno: null, detail } };
  }
  let bytes = 0;
  let frames = 0;
  const tried: string[] = [];
  for (const profile of plan) {
    const baudRate = profile.baudRate ?? 9600;
    let transport: Transport;
    try {
      transport = opts.openTransport(port.path, baudRate);
    } catch (err) {
      const f = classifyOpenError(err);
      return { rejected: { path: port.path, reason: f.kind, errno: f.errno, detail: f.message } };
    }
    tried.push(`${profile.codec === 'evp1' ? 'EVP/1' : 'KEYLINE'} at ${baudRate}`);
    let result: ProbeResult;
    if (profile.codec === 'evp1') result = await probeEvp1(transport, opts.helloTimeoutMs);
    else result = await probeKeyline(transport, opts.keylineListenMs);
    if (result.ok) {
      if (result.codec === 'evp1') {
        const padSerial = result.hello.serial || null;
        return {
          found: {
            ...base,
            profile: profile.id,
            codec: 'evp1',
            baudRate,
            model: result.hello.model,
            firmware: result.hello.firmware,
            padSerial,
            identity: padSerial ? 'pad-serial' : usbSerial ? 'usb-serial' : null,
          },
        };
      }
      return { found: keylineFound(base, profile, baudRate, usbSerial) };
    }
    if (result.open) {
      // Busy or not permitted: other codecs would fail the same way.
      return {
        rejected: {
          path: port.path,
          reason: result.open.kind,
          errno: result.open.errno,
          detail: result.open.message,
        },
      };
    }
    bytes += result.traffic.bytes;
    frames += result.traffic.frames;
    if (result.keylineSeen) {
      // A key line arrived while waiting for HELLO: a KEYLINE pad somebody pressed.
      const keylineProfile = only
        ? only.codec === 'keyline'
          ? only
          : undefined
        : ranked.profiles.find((p) => p.codec === 'keyline' && (p.baudRate ?? 9600) === baudRate);
      if (keylineProfile) return { found: keylineFound(base, keylineProfile, baudRate, usbSerial) };
    }
  }
  if (bytes > 0) {
    return {
      rejected: {
        path: port.path,
        reason: 'garbage',
        errno: null,
        detail: `${bytes} bytes${frames > 0 ? ` (${frames} good EVP/1 frames)` : ''} but no HELLO and no key line (${tried.join(', ')}): another device, or the wrong baud rate`,
      },
    };
  }
  return {
    rejected: {
      path: port.path,
      reason: 'no_answer',
      errno: null,
      detail: `silent (${tried.join(', ')}); a KEYLINE pad answers only when a key is pressed`,
    },
  };
}

function keylineFound(
  base: { path: string; usbSerial: string | null; chip: string | null },
  profile: DeviceProfile,
  baudRate: number,
  usbSerial: string | null,
): FoundPad {
  return {
    ...base,
    profile: profile.id,
    codec: 'keyline',
    baudRate,
    model: null,
    firmware: null,
    padSerial: null,
    identity: usbSerial ? 'usb-serial' : null,
  };
}

/** Picks the pad among those found. Pure, so the rules are tested without ports. */
export function choosePad(
  found: readonly FoundPad[],
  wantedSerial: string | null,
): { chosen: FoundPad | null; decision: string; notes: string[] } {
  const notes: string[] = [];
  const anonymous = found.filter((f) => f.identity === null);
  for (const f of anonymous) {
    notes.push(
      `${f.path}: ${f.codec === 'keyline' ? 'a KEYLINE pad' : 'a pad'} behind ${f.chip ?? 'a port'} with no serial number` +
        ' (no HELLO serial, no USB serial): it cannot be told apart from another such pad',
    );
  }
  if (found.length === 0) {
    return {
      chosen: null,
      decision: wantedSerial ? `no pad found (wanted serial ${wantedSerial})` : 'no pad found',
      notes,
    };
  }
  if (wantedSerial) {
    const byPad = found.filter((f) => f.padSerial === wantedSerial);
    const byUsb = found.filter((f) => f.padSerial === null && f.usbSerial === wantedSerial);
    const matches = byPad.length > 0 ? byPad : byUsb;
    if (matches.length === 1) {
      const m = matches[0] as FoundPad;
      const how = byPad.length > 0 ? 'its HELLO serial' : 'its USB serial number';
      return { chosen: m, decision: `${m.path}: ${how} is ${wantedSerial}`, notes };
    }
    if (matches.length > 1) {
      return {
        chosen: null,
        decision: `refusing to guess: ${matches.length} ports answer with serial ${wantedSerial} (${matches.map((m) => m.path).join(', ')})`,
        notes,
      };
    }
    // Pads that say who they are and are someone else are ruled out; an anonymous one may be it.
    if (anonymous.length === 1) {
      const m = anonymous[0] as FoundPad;
      notes.push(
        `serial ${wantedSerial} cannot be checked on ${m.path}: chosen as the only pad without an identity`,
      );
      return {
        chosen: m,
        decision: `${m.path}: the single candidate that could be pad ${wantedSerial}`,
        notes,
      };
    }
    if (anonymous.length > 1) {
      return {
        chosen: null,
        decision: `refusing to guess: no pad says serial ${wantedSerial}, and ${anonymous.length} pads cannot be told apart (${anonymous.map((m) => m.path).join(', ')})`,
        notes,
      };
    }
    return {
      chosen: null,
      decision: `no pad with serial ${wantedSerial}; found ${found.map((f) => `${f.path} (${f.padSerial ?? f.usbSerial})`).join(', ')}`,
      notes,
    };
  }
  if (found.length === 1) {
    const m = found[0] as FoundPad;
    return { chosen: m, decision: `${m.path}: the only pad found`, notes };
  }
  return {
    chosen: null,
    decision: `refusing to guess: ${found.length} pads found (${found.map((m) => m.path).join(', ')}); set the config's pad.serial to the one wanted`,
    notes,
  };
}

export async function discoverPads(options: DiscoverOptions = {}): Promise<DiscoveryReport> {
  const profiles = options.profiles ?? PROFILES;
  const wantedSerial = options.wantedSerial ?? null;
  const profileId = options.profile ?? null;
  const only = profileId ? (profileById(profileId, profiles) ?? null) : null;
  if (profileId && !only) throw new Error(`unknown pad profile "${profileId}"`);
  const list = options.list ?? defaultLister;
  const openTransport =
    options.openTransport ?? ((path, baudRate) => new SerialTransport({ path, baudRate }));
  const ranked = rankPorts(await list(), {
    wantedSerial,
    profiles,
    probeUnknown: options.probeUnknown ?? false,
  });
  // Ports are independent devices: probing them at once keeps discovery near one probe's time.
  const outcomes = await Promise.all(
    ranked.map((r) =>
      probePort(r, only, {
        openTransport,
        helloTimeoutMs: options.helloTimeoutMs ?? 1000,
        keylineListenMs: options.keylineListenMs ?? 3000,
      }),
    ),
  );
  const found: FoundPad[] = [];
  const rejected: RejectedPort[] = [];
  for (const o of outcomes) {
    if ('found' in o) found.push(o.found);
    else rejected.push(o.rejected);
  }
  const { chosen, decision, notes } = choosePad(found, wantedSerial);
  if (rejected.some((r) => r.reason === 'permission'))
    notes.push(
      'permission denied: on Linux add the user to the dialout group (sudo usermod -aG dialout $USER)',
    );
  if (rejected.some((r) => r.reason === 'busy'))
    notes.push('a busy port is held by another program (a running counter, ModemManager, a terminal)');
  return {
    wanted: { serial: wantedSerial, profile: profileId },
    ports: ranked.map((r) => ({
      path: r.port.path,
      score: r.match.score,
      fingerprint: r.match.reason,
      usbSerial: r.port.serialNumber ?? null,
    })),
    found,
    rejected,
    chosen,
    decision,
    notes,
  };
}

/** The report as text for a person at the terminal. */
export function formatReport(report: DiscoveryReport): string {
  const lines: string[] = [];
  const want = [
    report.wanted.serial ? `serial ${report.wanted.serial}` : null,
    report.wanted.profile ? `profile ${report.wanted.profile}` : null,
  ].filter(Boolean);
  lines.push(
    `pad discovery${want.length ? ` (wanted: ${want.join(', ')})` : ''}: ${report.ports.length} port(s) listed`,
  );
  if (report.found.length > 0) {
    lines.push('', 'found:');
    for (const f of report.found) {
      const who =
        f.codec === 'evp1'
          ? `EVP/1 ${f.model} firmware ${f.firmware}, pad serial ${f.padSerial ?? '(none)'}`
          : 'KEYLINE pad (says nothing about itself)';
      lines.push(`  ${f.path}  profile ${f.profile} @${f.baudRate}  ${who}`);
      lines.push(`      ${f.chip ?? 'no USB chip'}, USB serial ${f.usbSerial ?? '(none)'}`);
    }
  }
  if (report.rejected.length > 0) {
    lines.push('', 'rejected:');
    for (const r of report.rejected) {
      lines.push(`  ${r.path}  ${r.reason}${r.errno ? ` (${r.errno})` : ''}: ${r.detail}`);
    }
  }
  lines.push('', `chosen: ${report.chosen ? report.chosen.path : 'none'} (${report.decision})`);
  for (const n of report.notes) lines.push(`note: ${n}`);
  return `${lines.join('\n')}\n`;
}
