/**
 * Discovery's pure parts: port ranking (property-tested), the choice among pads found, and the
 * classification of node-serialport's open errors.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { choosePad, type FoundPad } from '../../../drivers/discovery/discover.ts';
import { classifyOpenError } from '../../../drivers/discovery/probe.ts';
import { rankPorts } from '../../../drivers/discovery/score.ts';
import { type PortInfo, USB_CHIPS } from '../../../drivers/profiles.ts';

const KNOWN = Object.values(USB_CHIPS).map((c) => ({ vendorId: c.vendorId, productId: c.productId }));
const hex4 = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16).padStart(4, '0'));
const isKnown = (p: PortInfo) =>
  KNOWN.some((k) => k.vendorId === p.vendorId?.toLowerCase() && k.productId === p.productId?.toLowerCase());

const portArb: fc.Arbitrary<PortInfo> = fc.record(
  {
    path: fc.oneof(
      fc.nat(20).map((n) => `/dev/ttyUSB${n}`),
      fc.nat(20).map((n) => `/dev/ttyACM${n}`),
      fc.nat(20).map((n) => `/dev/ttyS${n}`),
      fc.nat(20).map((n) => `COM${n}`),
    ),
    vendorId: fc.oneof(
      fc.constantFrom(...KNOWN.map((k) => k.vendorId)),
      fc.constantFrom(...KNOWN.map((k) => k.vendorId.toUpperCase())),
      hex4,
    ),
    productId: fc.oneof(fc.constantFrom(...KNOWN.map((k) => k.productId)), hex4),
    serialNumber: fc.oneof(fc.constant('WANTED'), fc.string({ maxLength: 6 })),
  },
  { requiredKeys: ['path'] },
);

describe('rankPorts', () => {
  it('is deterministic: the order list() gave does not matter', () => {
    fc.assert(
      fc.property(
        fc.array(portArb, { maxLength: 12 }),
        fc.option(fc.constantFrom('WANTED', 'x'), { nil: null }),
        fc.infiniteStream(fc.nat()),
        (ports, wantedSerial, randoms) => {
          const shuffled = ports
            .map((p) => ({ p, k: randoms.next().value as number }))
            .sort((a, b) => a.k - b.k)
            .map((x) => x.p);
          const a = rankPorts(ports, { wantedSerial }).map((r) => r.port);
          const b = rankPorts(shuffled, { wantedSerial }).map((r) => r.port);
          expect(b).toEqual(a);
          expect(rankPorts(ports, { wantedSerial })).toEqual(rankPorts(ports, { wantedSerial }));
        },
      ),
    );
  });

  it('a port with an exact VID/PID match always outranks one without, whatever the serial wanted', () => {
    fc.assert(
      fc.property(
        fc.array(portArb, { maxLength: 12 }),
        fc.option(fc.constant('WANTED'), { nil: null }),
        (ports, wantedSerial) => {
          const ranked = rankPorts(ports, { wantedSerial });
          const firstUnknown = ranked.findIndex((r) => !isKnown(r.port));
          if (firstUnknown >= 0) expect(ranked.slice(firstUnknown).some((r) => isKnown(r.port))).toBe(false);
        },
      ),
    );
  });

  it('ports without a fingerprint get nothing to probe; a CH340 gets EVP/1 before KEYLINE', () => {
    const [ch340, ttyS] = rankPorts([{ path: '/dev/ttyS0' }, { path: '/dev/ttyUSB0', ...KNOWN[0] }]);
    expect(ch340?.port.path).toBe('/dev/ttyUSB0');
    expect(ch340?.profiles.map((p) => p.codec)).toEqual(['evp1', 'evp1', 'keyline', 'keyline']);
    expect(ttyS?.profiles).toEqual([]);
  });
});

const pad = (path: string, over: Partial<FoundPad> = {}): FoundPad => ({
  path,
  profile: 'evp1',
  codec: 'evp1',
  baudRate: 9600,
  model: 'M',
  firmware: '1',
  padSerial: null,
  usbSerial: null,
  chip: 'CH340',
  identity: null,
  ...over,
});

describe('choosePad', () => {
  it('no serial wanted: the single pad, or a refusal naming them all', () => {
    expect(choosePad([pad('/a')], null).chosen?.path).toBe('/a');
    const two = choosePad([pad('/a'), pad('/b')], null);
    expect(two.chosen).toBeNull();
    expect(two.decision).toMatch(/refusing to guess: 2 pads found \(\/a, \/b\)/);
    expect(choosePad([], null).decision).toBe('no pad found');
  });

  it('HELLO serial first, then the USB serial number', () => {
    const found = [
      pad('/a', { padSerial: 'P1', identity: 'pad-serial' }),
      pad('/b', { usbSerial: 'U2', chip: 'FTDI', identity: 'usb-serial', codec: 'keyline', padSerial: null }),
    ];
    expect(choosePad(found, 'P1').chosen?.path).toBe('/a');
    expect(choosePad(found, 'U2').chosen?.path).toBe('/b');
    expect(choosePad(found, 'P3').chosen).toBeNull();
  });

  it('two ports with the same serial: refused', () => {
    const found = [
      pad('/a', { padSerial: 'P1', identity: 'pad-serial' }),
      pad('/b', { padSerial: 'P1', identity: 'pad-serial' }),
    ];
    expect(choosePad(found, 'P1').decision).toMatch(/refusing to guess: 2 ports answer with serial P1/);
  });

  it('anonymous pads (KEYLINE on CH340): one is taken with a note, two are refused', () => {
    const kl = (path: string) =>
      pad(path, { codec: 'keyline', profile: 'keyline', model: null, firmware: null });
    const other = pad('/x', { padSerial: 'OTHER', identity: 'pad-serial' });
    const one = choosePad([other, kl('/k1')], 'WANT');
    expect(one.chosen?.path).toBe('/k1');
    expect(one.notes.join('\n')).toMatch(/cannot be told apart/);
    const two = choosePad([kl('/k1'), kl('/k2')], 'WANT');
    expect(two.chosen).toBeNull();
    expect(two.decision).toMatch(/cannot be told apart \(\/k1, \/k2\)/);
  });
});

describe('classifyOpenError', () => {
  it('names busy, permission, gone and not-a-tty from node-serialport messages', () => {
    expect(
      classifyOpenError(new Error('Error Resource temporarily unavailable Cannot lock port')),
    ).toMatchObject({
      kind: 'busy',
      errno: 'EAGAIN',
    });
    expect(classifyOpenError(new Error('Error: Permission denied, cannot open /dev/ttyUSB0'))).toMatchObject({
      kind: 'permission',
      errno: 'EACCES',
    });
    expect(classifyOpenError(new Error('Opening COM3: Access denied'))).toMatchObject({ kind: 'busy' });
    expect(
      classifyOpenError(new Error('Error: No such file or directory, cannot open /dev/x')),
    ).toMatchObject({
      kind: 'gone',
      errno: 'ENOENT',
    });
    expect(
      classifyOpenError(new Error('Error: Inappropriate ioctl for device setting custom baud rate')),
    ).toMatchObject({
      kind: 'not_a_tty',
    });
    expect(classifyOpenError(new Error('something else'))).toMatchObject({
      kind: 'open_failed',
      errno: null,
    });
  });
});
