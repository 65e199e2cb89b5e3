/**
 * Which ports are worth probing, best first. Pure: the port list comes from the caller.
 *
 * Order: fingerprint score (a known USB-serial chip 2, a native ttyACM 1, nothing 0), then a USB
 * serial number equal to the wanted one, then the path, then the serial number. Every key is a
 * total order on the port's own data, so the ranking does not depend on the order `list()`
 * returned the ports in; the wanted-serial bonus only sorts within one fingerprint score, so a
 * known chip always comes before an unknown port.
 */

import {
  type DeviceProfile,
  fingerprintPort,
  type PortInfo,
  type PortMatch,
  profilesForPort,
} from '../profiles.ts';

export interface RankedPort {
  port: PortInfo;
  match: PortMatch;
  /** The USB serial number equals the wanted pad serial. */
  serialMatch: boolean;
  /** Serial profiles to probe on it, EVP/1 first; empty when the port has no fingerprint. */
  profiles: DeviceProfile[];
}

export interface RankOptions {
  wantedSerial?: string | null;
  profiles?: readonly DeviceProfile[];
  /** Probe ports without a fingerprint too (paths the user named). */
  probeUnknown?: boolean;
}

function compareText(a: string, b: string): number {
  // Code-unit order, not locale order: the same on every machine.
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareRanked(a: RankedPort, b: RankedPort): number {
  return (
    b.match.score - a.match.score ||
    Number(b.serialMatch) - Number(a.serialMatch) ||
    compareText(a.port.path, b.port.path) ||
    compareText(a.port.serialNumber ?? '', b.port.serialNumber ?? '') ||
    compareText(a.port.vendorId ?? '', b.port.vendorId ?? '') ||
    compareText(a.port.productId ?? '', b.port.productId ?? '')
  );
}

export function rankPort(port: PortInfo, options: RankOptions = {}): RankedPort {
  const match = fingerprintPort(port);
  const wanted = options.wantedSerial ?? null;
  return {
    port,
    match,
    serialMatch: wanted !== null && port.serialNumber !== undefined && port.serialNumber === wanted,
    profiles: match.score > 0 || options.probeUnknown ? profilesForPort(port, options.profiles) : [],
  };
}

/** All ports, ranked; ports with score 0 are kept (the report says why they were not probed). */
export function rankPorts(ports: readonly PortInfo[], options: RankOptions = {}): RankedPort[] {
  return ports.map((p) => rankPort(p, options)).sort(compareRanked);
}
