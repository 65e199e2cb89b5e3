import { defineConfig } from 'vitest/config';

/**
 * Suites that measure time (reconnect within 1 s, event-loop lateness under a flood) or load the
 * machine for minutes (10k-press soak, kill -9 ×200, kill cycles): they run afterwards, one file at
 * a time (vitest.heavy.config.ts), so neither disturbs the other's figures on a 2-core machine.
 */
export const HEAVY = [
  'tests/drivers/soak-pty.test.ts',
  'tests/drivers/flood-pty.test.ts',
  'tests/drivers/memory-codecs.test.ts',
  'tests/e2e/kill9.test.ts',
  'tests/sync/kill-cycles.test.ts',
  'tests/sync/faulty-channel.test.ts',
];

export default defineConfig({
  test: {
    globalSetup: ['tests/global-setup.ts'],
    include: ['tests/**/*.test.ts', 'tests/**/*.test.tsx'],
    exclude: ['**/node_modules/**', ...HEAVY],
    // Two cores: the end-to-end suites spawn processes and a browser of their own.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
