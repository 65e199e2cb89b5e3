import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HUB_HTTP_ERROR_CODES } from '../../hub/errors.ts';
import { HUB_ERROR_CODES } from '../../src-shared/index.ts';

describe('hub error catalogue', () => {
  it('documents every code it can answer with, and no other', () => {
    const readme = readFileSync(new URL('../../hub/README.md', import.meta.url), 'utf8');
    const documented = [...readme.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*\d{3}\s*\|/gm)].map((m) => m[1]).sort();
    const codes = [
      ...new Set([...Object.values(HUB_ERROR_CODES), ...Object.values(HUB_HTTP_ERROR_CODES)]),
    ].sort();
    expect(documented).toEqual(codes);
  });
});
