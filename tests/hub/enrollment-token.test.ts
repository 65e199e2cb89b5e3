import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { newEnrollmentToken } from '../../hub/store/enrollment-token.ts';

describe('enrollment tokens', () => {
  it('are 32 base64url characters, all different, and none reads as an option after --token', () => {
    const tokens = Array.from({ length: 20_000 }, newEnrollmentToken);
    expect(new Set(tokens).size).toBe(tokens.length);
    for (const token of tokens) {
      expect(token).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{31}$/);
      // As `haocha enroll` reads its arguments (node:util parseArgs).
      const { values } = parseArgs({ args: ['--token', token], options: { token: { type: 'string' } } });
      expect(values.token).toBe(token);
    }
  });
});
