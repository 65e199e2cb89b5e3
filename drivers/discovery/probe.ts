/**
 * Probing one port with one codec. Every probe opens its own transport and closes it on every
 * path (answer, timeout, open error, a throw), so discovery never leaves a port held: the counter
 * (or the next probe) must be able to open it right after.
 *
 * - EVP/1: a HostLink sends GET_INFO; a HELLO within `helloTimeoutMs` (1 s, pad-protocol.md)
 *   identifies the pad. A KEY seen while probing is never ACKed (it was not committed): the pad
 *   keeps it and re-sends it to the counter.
 * - KEYLINE: listen for one valid K1..K5 line. Such a pad only talks when a key is pressed, so
 *   somebody has to press one while discovery listens; that press is not rated.
 */

import { HostLink } from '../evp1/host-link.ts';
import { KeylineDecoder } from '../keyline/codec.ts';
import type { Transport } from '../transports/types.ts';

export type OpenFailureKind = 'busy' | 'permission' | 'gone' | 'not_a_tty' | 'open_failed';

export interface OpenFailure {
  kind: OpenFailureKind;
  /** errno name when the message names one (node-serialport puts only text in its errors). */
  errno: string | null;
  message: string;
}

/**
 * node-serialport's open errors carry no `code`, only strerror text (checked: "Cannot lock port"
 * for a port another process holds, "No such file or directory, cannot open …"); Windows says
 * "Access denied" for a COM port in use.
 */
export function classifyOpenError(err: unknown): OpenFailure {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  const has = (re: RegExp) => re.test(message) || (typeof code === 'string' && re.test(code));
  if (has(/Cannot lock port|Resource temporarily unavailable|EAGAIN/i))
    return { kind: 'busy', errno: 'EAGAIN', message };
  if (has(/Device or resource busy|EBUSY/i)) return { kind: 'busy', errno: 'EBUSY', message };
  if (has(/Access denied/i)) return { kind: 'busy', errno: 'EACCES', message };
  if (has(/Permission denied|EACCES|EPERM/i)) return { kind: 'permission', errno: 'EACCES', message };
  if (has(/No such file|File not found|ENOENT|ENXIO|No such device/i))
    return { kind: 'gone', errno: /ENXIO|No such device/i.test(message) ? 'ENXIO' : 'ENOENT', message };
  if (has(/Inappropriate ioctl|ENOTTY/i)) return { kind: 'not_a_tty', errno: 'ENOTTY', message };
  return { kind: 'open_failed', errno: typeof code === 'string' ? code : null, message };
}

export interface ProbeTraffic {
  /** Bytes received while the port was open. */
  bytes: number;
  /** EVP/1 frames with a good CRC, KEYLINE key lines. */
  frames: number;
}

export type ProbeResult =
  | {
      ok: true;
      codec: 'evp1';
      hello: { model: string; firmware: string; serial: string; bootId: number };
      traffic: ProbeTraffic;
    }
  | { ok: true; codec: 'keyline'; key: number; traffic: ProbeTraffic }
  | { ok: false; open: OpenFailure; traffic: ProbeTraffic }
  | { ok: false; open: null; traffic: ProbeTraffic; keylineSeen: boolean };

async function closeQuietly(close: () => Promise<void>): Promise<void> {
  try {
    await close();
  } catch {
    // Closing a port that already died must not turn a probe result into a failure.
  }
}

export async function probeEvp1(transport: Transport, helloTimeoutMs = 1000): Promise<ProbeResult> {
  const traffic: ProbeTraffic = { bytes: 0, frames: 0 };
  // Also read the bytes as KEYLINE: a KEYLINE pad pressed now need not be listened for again.
  const keyline = new KeylineDecoder();
  let keylineSeen = false;
  const offData = transport.on('data', (b) => {
    traffic.bytes += b.length;
    if (keyline.push(b).length > 0) keylineSeen = true;
  });
  const link = new HostLink({
    transport,
    // Never settled: an ACK would tell the pad a press was stored that was not.
    onKey: () => new Promise(() => {}),
    helloTimeoutMs,
    // No PING during a probe: it lasts less than one interval anyway.
    pingIntervalMs: helloTimeoutMs * 10,
  });
  try {
    const hello = new Promise<ProbeResult | null>((resolve) => {
      link.on('device', (d) =>
        resolve({
          ok: true,
          codec: 'evp1',
          hello: { model: d.model, firmware: d.firmware, serial: d.serial, bootId: d.bootId },
          traffic,
        }),
      );
      link.on('no-hello', () => resolve(null));
    });
    try {
      await link.open();
    } catch (err) {
      return { ok: false, open: classifyOpenError(err), traffic };
    }
    const found = await hello;
    traffic.frames = link.counters.frames;
    return found ?? { ok: false, open: null, traffic, keylineSeen };
  } finally {
    offData();
    await closeQuietly(() => link.close());
    await closeQuietly(() => transport.close());
  }
}

export async function probeKeyline(transport: Transport, listenMs: number): Promise<ProbeResult> {
  const traffic: ProbeTraffic = { bytes: 0, frames: 0 };
  const decoder = new KeylineDecoder();
  let timer: NodeJS.Timeout | null = null;
  let offData = () => {};
  try {
    try {
      await transport.open();
    } catch (err) {
      return { ok: false, open: classifyOpenError(err), traffic };
    }
    const key = await new Promise<number | null>((resolve) => {
      timer = setTimeout(() => resolve(null), listenMs);
      offData = transport.on('data', (b) => {
        traffic.bytes += b.length;
        const keys = decoder.push(b);
        traffic.frames += keys.length;
        if (keys.length > 0) resolve(keys[0] as number);
      });
    });
    if (key !== null) return { ok: true, codec: 'keyline', key, traffic };
    return { ok: false, open: null, traffic, keylineSeen: false };
  } finally {
    if (timer) clearTimeout(timer);
    offData();
    await closeQuietly(() => transport.close());
  }
}
