import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readTokenInput } from '../../src-renderer/screens/ProvisionScreen.tsx';

const tokenArb = fc.stringMatching(/^[A-Za-z0-9_-]{16,128}$/);
const hubArb = fc
  .tuple(fc.constantFrom('http', 'https'), fc.ipV4(), fc.integer({ min: 1, max: 65535 }))
  .map(([scheme, ip, port]) => `${scheme}://${ip}:${port}`);

describe('readTokenInput (what IT typed or scanned on the provisioning panel)', () => {
  it('takes a bare token, trimmed, and the QR payload haocha hub token prints', () => {
    expect(readTokenInput('  abcdefghijklmnopqrstuvwxyz012345 \n')).toEqual({
      token: 'abcdefghijklmnopqrstuvwxyz012345',
    });
    expect(
      readTokenInput(
        '{"hub":"http://10.0.0.2:8700","token":"abcdefghijklmnopqrstuvwxyz012345","hall":"H","window":"W"}',
      ),
    ).toEqual({ token: 'abcdefghijklmnopqrstuvwxyz012345', hubUrl: 'http://10.0.0.2:8700' });
  });

  it('refuses empty input, short tokens, stray characters and broken JSON', () => {
    for (const bad of ['', '   ', 'short', 'has space inside the token 1234', '{"token":', '{"hub":"x"}']) {
      expect(readTokenInput(bad), bad).toBeNull();
    }
  });

  it('property: any token, bare or inside a QR payload with any hub, comes back unchanged', () => {
    fc.assert(
      fc.property(tokenArb, hubArb, fc.boolean(), (token, hub, asQr) => {
        const text = asQr ? JSON.stringify({ hub, token, hall: 'H', window: 'W' }) : token;
        expect(readTokenInput(text)).toEqual(asQr ? { token, hubUrl: hub } : { token });
      }),
    );
  });

  it('property: text with a character outside the token alphabet is never taken as a bare token', () => {
    fc.assert(
      fc.property(tokenArb, fc.constantFrom(' ', '/', '+', '=', '"', '中'), fc.nat(), (token, bad, at) => {
        const i = 1 + (at % (token.length - 1));
        const text = token.slice(0, i) + bad + token.slice(i);
        expect(readTokenInput(text)).toBeNull();
      }),
    );
  });
});
