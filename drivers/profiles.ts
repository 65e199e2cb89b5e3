/**
 * Device profiles as data: which codec a pad speaks, at which baud, how its keys map to levels,
 * and which USB-serial chips it is usually found behind. A table keyed by profile id (as
 * stream-deck's model table), validated when loaded, so a profile can later arrive in the signed
 * config bundle without code changes. Pure: no Node API.
 *
 * Levels use the counter's internal scale (`src-main/core/config.ts` `key_levels`): 5 = 非常满意
 * … 1 = 非常不满意. The standard pad has 非常满意 on key 1 (leftmost), so its map is [5,4,3,2,1];
 * a pad wired in reverse has [1,2,3,4,5].
 */

export type CodecName = 'evp1' | 'keyline' | 'hid-wedge';

export interface UsbFingerprint {
  /** Lower-case hex, 4 digits, as node-serialport's `list()` reports it. */
  vendorId: string;
  productId: string;
  chip: string;
  /** False when the chip reports no serial number (CH340): the port path cannot be told from another. */
  hasSerialNumber: boolean;
}

export interface DeviceProfile {
  id: string;
  name: string;
  codec: CodecName;
  /** Serial codecs only. */
  baudRate?: number;
  /** keyLevels[k - 1] is the level of key k; a permutation of 1..5. */
  keyLevels: readonly [number, number, number, number, number];
  /** HID keyboard-wedge only: the key names typed for keys 1..5 (KeyboardEvent.key). */
  hidKeys?: readonly [string, string, string, string, string];
  /** USB chips this pad is usually behind; `acm` also accepts a native ttyACM port. */
  usb: readonly UsbFingerprint[];
  acm: boolean;
}

export const USB_CHIPS = {
  ch340: { vendorId: '1a86', productId: '7523', chip: 'CH340', hasSerialNumber: false },
  cp210x: { vendorId: '10c4', productId: 'ea60', chip: 'CP210x', hasSerialNumber: true },
  ftdi: { vendorId: '0403', productId: '6001', chip: 'FTDI FT232R', hasSerialNumber: true },
} as const satisfies Record<string, UsbFingerprint>;

const ALL_CHIPS = [USB_CHIPS.ch340, USB_CHIPS.cp210x, USB_CHIPS.ftdi];
const STANDARD = [5, 4, 3, 2, 1] as const;
const REVERSED = [1, 2, 3, 4, 5] as const;

export const PROFILES: readonly DeviceProfile[] = [
  {
    id: 'evp1',
    name: 'EVP/1 pad',
    codec: 'evp1',
    baudRate: 9600,
    keyLevels: STANDARD,
    usb: ALL_CHIPS,
    acm: true,
  },
  {
    id: 'evp1-115200',
    name: 'EVP/1 pad at 115200 baud',
    codec: 'evp1',
    baudRate: 115200,
    keyLevels: STANDARD,
    usb: ALL_CHIPS,
    acm: true,
  },
  {
    id: 'keyline',
    name: 'KEYLINE pad (K1..K5 lines)',
    codec: 'keyline',
    baudRate: 9600,
    keyLevels: STANDARD,
    usb: ALL_CHIPS,
    acm: false,
  },
  {
    id: 'keyline-reversed',
    name: 'KEYLINE pad wired in reverse',
    codec: 'keyline',
    baudRate: 9600,
    keyLevels: REVERSED,
    usb: ALL_CHIPS,
    acm: false,
  },
  {
    id: 'hid-f1-f5',
    name: 'Keyboard-wedge pad typing F1..F5',
    codec: 'hid-wedge',
    keyLevels: STANDARD,
    hidKeys: ['F1', 'F2', 'F3', 'F4', 'F5'],
    usb: [],
    acm: false,
  },
];

/** Problems with a profile, in plain words; empty when it is usable. */
export function validateProfile(p: DeviceProfile): string[] {
  const errors: string[] = [];
  if (!/^[a-z0-9][a-z0-9-]*$/.test(p.id))
    errors.push(`id "${p.id}" must be lower-case letters, digits and -`);
  if (!['evp1', 'keyline', 'hid-wedge'].includes(p.codec)) errors.push(`unknown codec "${p.codec}"`);
  const levels = [...p.keyLevels].sort();
  if (p.keyLevels.length !== 5 || levels.join() !== '1,2,3,4,5')
    errors.push(`keyLevels must be a permutation of 1..5, got [${p.keyLevels.join(', ')}]`);
  if (p.codec === 'hid-wedge') {
    if (p.hidKeys?.length !== 5 || new Set(p.hidKeys).size !== 5)
      errors.push('hidKeys must name 5 different keys');
  } else if (p.baudRate === undefined || !Number.isInteger(p.baudRate) || p.baudRate <= 0) {
    errors.push(`a serial profile needs a baudRate, got ${p.baudRate}`);
  }
  for (const u of p.usb) {
    if (!/^[0-9a-f]{4}$/.test(u.vendorId) || !/^[0-9a-f]{4}$/.test(u.productId))
      errors.push(`USB id ${u.vendorId}:${u.productId} must be 4 lower-case hex digits each`);
  }
  return errors;
}

export function profileById(
  id: string,
  profiles: readonly DeviceProfile[] = PROFILES,
): DeviceProfile | undefined {
  return profiles.find((p) => p.id === id);
}

/** The level of a key (1..5), or null for a key the profile does not have. */
export function levelForKey(profile: DeviceProfile, key: number): number | null {
  if (!Number.isInteger(key) || key < 1 || key > 5) return null;
  return profile.keyLevels[key - 1] ?? null;
}

/** What node-serialport's `SerialPort.list()` says about a port (the fields used here). */
export interface PortInfo {
  path: string;
  vendorId?: string | undefined;
  productId?: string | undefined;
  serialNumber?: string | undefined;
}

export interface PortMatch {
  /** 2: a known USB-serial chip; 1: a native ttyACM; 0: nothing known. */
  score: number;
  chip: UsbFingerprint | null;
  reason: string;
}

/** Scores a port by its USB fingerprint, for discovery to probe the likely pads first. */
export function fingerprintPort(port: PortInfo, chips: readonly UsbFingerprint[] = ALL_CHIPS): PortMatch {
  const vid = port.vendorId?.toLowerCase();
  const pid = port.productId?.toLowerCase();
  const chip = chips.find((c) => c.vendorId === vid && c.productId === pid) ?? null;
  if (chip) return { score: 2, chip, reason: `${chip.chip} USB-serial (${vid}:${pid})` };
  if (/ttyACM\d+$/.test(port.path)) return { score: 1, chip: null, reason: 'native USB CDC-ACM port' };
  return {
    score: 0,
    chip: null,
    reason: vid ? `unknown USB device ${vid}:${pid ?? '????'}` : 'no USB fingerprint',
  };
}

/** Serial profiles worth probing on a port, best first (EVP/1 before KEYLINE, as discovery probes). */
export function profilesForPort(
  port: PortInfo,
  profiles: readonly DeviceProfile[] = PROFILES,
): DeviceProfile[] {
  const match = fingerprintPort(port);
  const order: Record<CodecName, number> = { evp1: 0, keyline: 1, 'hid-wedge': 2 };
  return profiles
    .filter((p) => p.codec !== 'hid-wedge')
    .filter((p) =>
      match.chip
        ? p.usb.some((u) => u.vendorId === match.chip?.vendorId && u.productId === match.chip.productId)
        : match.score === 1
          ? p.acm
          : true,
    )
    .sort((a, b) => order[a.codec] - order[b.codec]);
}
