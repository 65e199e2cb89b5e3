import { generateKeyPairSync, sign, verify } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ConfigBundle,
  configContentSchema,
  configVersionName,
  resolveWindow,
  signingInput,
} from '../../src-shared/config-bundle.ts';
import { signBundle, verifyBundle } from '../../src-shared/config-signing.ts';
import { exportPublicKey } from '../../src-shared/signing.ts';
import { content, HALL, WINDOW } from './fixture.ts';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const hubKey = exportPublicKey(publicKey);

function unsignedBundle(windowName: string, seq = 1): Omit<ConfigBundle, 'signature'> {
  return {
    seq,
    version: configVersionName(seq, new Date('2026-11-26T03:00:00Z')),
    issued_at: '2026-11-26T03:00:00.000Z',
    scope: { hall_id: HALL, window_id: WINDOW },
    content: configContentSchema.parse(content(windowName)),
  };
}

/** The bundle as a counter receives it: JSON text, parsed back. */
const wire = (b: ConfigBundle): Record<string, unknown> => JSON.parse(JSON.stringify(b));

describe('config bundle signing', () => {
  it('round-trips: a bundle signed by the hub verifies with its public key, and only with it', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 100 }),
        fc.integer({ min: 1, max: 1e6 }),
        (name, seq) => {
          const signed = signBundle(unsignedBundle(name, seq), privateKey, publicKey);
          expect(verifyBundle(wire(signed), hubKey)).toEqual({ ok: true });
          const other = exportPublicKey(generateKeyPairSync('ed25519').publicKey);
          expect(verifyBundle(wire(signed), other).ok).toBe(false);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('any single-byte change of the signed text fails verification', () => {
    const signed = signBundle(unsignedBundle('1号窗口'), privateKey, publicKey);
    const bytes = Buffer.from(signingInput(signed), 'utf8');
    const signature = Buffer.from(signed.signature?.value ?? '', 'base64');
    expect(verify(null, bytes, publicKey, signature)).toBe(true);
    fc.assert(
      fc.property(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, delta) => {
        const changed = Buffer.from(bytes);
        changed[at] = ((changed[at] as number) + delta) & 0xff;
        expect(verify(null, changed, publicKey, signature)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('any changed character in the received bundle, or in its signature, is refused', () => {
    const signed = signBundle(unsignedBundle('1号窗口'), privateKey, publicKey);
    const text = JSON.stringify(signed);
    fc.assert(
      fc.property(fc.nat({ max: text.length - 1 }), fc.integer({ min: 1, max: 94 }), (at, delta) => {
        const code = text.charCodeAt(at);
        if (code < 32 || code > 126) return; // keep to ASCII positions: a stable single-byte change
        const changed = `${text.slice(0, at)}${String.fromCharCode(32 + ((code - 32 + delta) % 95))}${text.slice(at + 1)}`;
        let parsed: unknown;
        try {
          parsed = JSON.parse(changed);
        } catch {
          return; // no longer JSON: refused before any check
        }
        // A change that leaves the same value (none in canonical JSON but key order) may verify; any other may not.
        const same = JSON.stringify(parsed) === text;
        expect(verifyBundle(parsed, hubKey).ok).toBe(same);
      }),
      { numRuns: 1000 },
    );
  });

  it('an unsigned or wrongly shaped signature is refused with a reason', () => {
    const signed = wire(signBundle(unsignedBundle('1号窗口'), privateKey, publicKey));
    expect(verifyBundle({ ...signed, signature: null }, hubKey)).toEqual({
      ok: false,
      reason: 'bundle is not signed',
    });
    expect(verifyBundle({ ...signed, signature: { alg: 'rsa', value: 'x' } }, hubKey).ok).toBe(false);
    // A signature of the right size made by another key.
    const forged = sign(null, Buffer.from(signingInput(signed)), generateKeyPairSync('ed25519').privateKey);
    expect(
      verifyBundle(
        { ...signed, signature: { alg: 'ed25519', key_id: 'x', value: forged.toString('base64') } },
        hubKey,
      ).ok,
    ).toBe(false);
  });
});

describe('config content', () => {
  it('a window resolves with its hall and window overrides over the division settings', () => {
    const c = configContentSchema.parse(content('1号窗口'));
    const w = resolveWindow(c, HALL, WINDOW);
    expect(w).not.toBeNull();
    expect(w?.rating_timeout_s).toBe(120); // hall override
    expect(w?.thanks_s).toBe(1); // window override
    expect(w?.pin_lock_s).toBe(300); // division
    expect(w?.key_levels).toEqual([1, 2, 3, 4, 5]);
    // Only staff of this hall reach this window's counter.
    expect(w?.roster.map((s) => s.staff_no)).toEqual(['090317']);
    expect(resolveWindow(c, 'DIV9-MAIN', 'W03')?.key_levels).toBeNull();
    expect(resolveWindow(c, HALL, 'W99')).toBeNull();
  });

  it('refuses content whose windows name halls, staff or pad profiles it does not have', () => {
    const bad = content();
    bad.windows.push({
      hall_id: 'NOPE',
      window_id: 'W1',
      window_name: 'x',
      pad_profile: 'none-such',
      staff: ['000'],
    });
    const r = configContentSchema.safeParse(bad);
    expect(r.success).toBe(false);
    const messages = r.error?.issues.map((i) => i.message) ?? [];
    expect(messages).toContain('no hall NOPE in halls');
    expect(messages).toContain('no pad profile none-such in pad_profiles');
    expect(messages).toContain('no staff 000 in roster');
    const elsewhere = content();
    elsewhere.windows[0] = { ...elsewhere.windows[0], staff: ['090400'] } as (typeof elsewhere.windows)[0];
    expect(configContentSchema.safeParse(elsewhere).error?.issues[0]?.message).toBe(
      'staff 090400 does not serve in hall DIV9-T12 (roster hall_ids)',
    );
  });

  it('version names are monotonic in seq and carry the Beijing date', () => {
    expect(configVersionName(3, new Date('2026-11-25T17:00:00Z'))).toBe('2026.11.26-3');
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e9 }),
        fc.date({ min: new Date('2000-01-01'), max: new Date('2200-01-01'), noInvalidDate: true }),
        (seq, at) => {
          expect(configVersionName(seq, at).endsWith(`-${seq}`)).toBe(true);
        },
      ),
    );
  });
});
