/** Device profiles: the table is valid, key maps are permutations, ports are fingerprinted. */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type DeviceProfile,
  fingerprintPort,
  levelForKey,
  PROFILES,
  profileById,
  profilesForPort,
  validateProfile,
} from '../../drivers/profiles.ts';

describe('device profiles', () => {
  it('every built-in profile is valid and ids are unique', () => {
    for (const p of PROFILES) expect(validateProfile(p), p.id).toEqual([]);
    expect(new Set(PROFILES.map((p) => p.id)).size).toBe(PROFILES.length);
  });

  it('standard pad: key 1 = 非常满意 (5); reversed pad: key 1 = 非常不满意 (1)', () => {
    const std = profileById('keyline');
    const rev = profileById('keyline-reversed');
    if (!std || !rev) throw new Error('missing profiles');
    expect([1, 2, 3, 4, 5].map((k) => levelForKey(std, k))).toEqual([5, 4, 3, 2, 1]);
    expect([1, 2, 3, 4, 5].map((k) => levelForKey(rev, k))).toEqual([1, 2, 3, 4, 5]);
    expect(levelForKey(std, 0)).toBeNull();
    expect(levelForKey(std, 6)).toBeNull();
  });

  it('validation names the problem', () => {
    const bad = {
      ...PROFILES[0],
      id: 'Bad Id',
      keyLevels: [5, 5, 3, 2, 1],
      baudRate: undefined,
      usb: [{ vendorId: '1A86', productId: '7523', chip: 'x', hasSerialNumber: false }],
    } as unknown as DeviceProfile;
    const errors = validateProfile(bad);
    expect(errors.join('\n')).toMatch(/id "Bad Id"/);
    expect(errors.join('\n')).toMatch(/permutation/);
    expect(errors.join('\n')).toMatch(/baudRate/);
    expect(errors.join('\n')).toMatch(/4 lower-case hex/);
  });

  it('fingerprints: CH340, CP210x, FTDI, ttyACM, unknown', () => {
    expect(fingerprintPort({ path: '/dev/ttyUSB0', vendorId: '1a86', productId: '7523' })).toMatchObject({
      score: 2,
      chip: { chip: 'CH340', hasSerialNumber: false },
    });
    expect(fingerprintPort({ path: '/dev/ttyUSB1', vendorId: '10C4', productId: 'EA60' }).chip?.chip).toBe(
      'CP210x',
    );
    expect(fingerprintPort({ path: '/dev/ttyUSB2', vendorId: '0403', productId: '6001' }).chip?.chip).toMatch(
      /FTDI/,
    );
    expect(fingerprintPort({ path: '/dev/ttyACM0' })).toMatchObject({ score: 1 });
    expect(fingerprintPort({ path: '/dev/ttyS0' })).toMatchObject({ score: 0, reason: 'no USB fingerprint' });
  });

  it('profiles to probe: EVP/1 first, no keyboard-wedge, ttyACM only for ACM-capable ones', () => {
    const usb = profilesForPort({ path: '/dev/ttyUSB0', vendorId: '1a86', productId: '7523' });
    expect(usb.map((p) => p.codec)).toEqual(['evp1', 'evp1', 'keyline', 'keyline']);
    const acm = profilesForPort({ path: '/dev/ttyACM0' });
    expect(acm.every((p) => p.acm)).toBe(true);
  });

  it('property: a profile whose keyLevels is a permutation of 1..5 maps keys 1..5 one-to-one', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray([1, 2, 3, 4, 5], { minLength: 5, maxLength: 5 }), (perm) => {
        const p = { ...PROFILES[0], keyLevels: perm } as unknown as DeviceProfile;
        expect(validateProfile(p)).toEqual([]);
        const levels = [1, 2, 3, 4, 5].map((k) => levelForKey(p, k));
        expect(new Set(levels).size).toBe(5);
      }),
    );
  });

  it('property: any other 5-tuple is refused', () => {
    fc.assert(
      fc.property(
        fc
          .tuple(fc.integer(), fc.integer(), fc.integer(), fc.integer(), fc.integer())
          .filter((t) => [...t].sort().join() !== '1,2,3,4,5'),
        (t) => {
          const p = { ...PROFILES[0], keyLevels: t } as DeviceProfile;
          expect(validateProfile(p).some((e) => e.includes('permutation'))).toBe(true);
        },
      ),
    );
  });
});
