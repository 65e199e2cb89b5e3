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

/**
 * The hub suites that run a second time on PostgreSQL (project "hub-postgres": a throwaway cluster
 * from tests/pg-global-setup.ts, HAOCHA_TEST_HUB_DB=postgres picks the engine in tests/hub/harness.ts),
 * plus the PostgreSQL-only tests. Listed, not globbed: a new suite joins once its store parts exist
 * on PostgreSQL too.
 */
export const POSTGRES_SUITES = [
  'tests/hub/ingest.test.ts',
  'tests/hub/national.test.ts',
  'tests/hub/stats.test.ts',
  'tests/hub/page.test.ts',
  'tests/hub/property.test.ts',
  'tests/hub/export.test.ts',
  'tests/hub/roundtrip.property.test.ts',
  'tests/hub/store-postgres*.test.ts',
  'tests/sync-auth/enrollment.test.ts',
  'tests/fleet/clock.test.ts',
  'tests/fleet/heartbeat.test.ts',
  'tests/fleet/page.test.ts',
  'tests/config-bundle/cli.test.ts',
  'tests/config-bundle/counter.test.ts',
  'tests/config-bundle/hub.test.ts',
  'tests/sync/batch-cut.test.ts',
  'tests/sync/dead-letter.test.ts',
  'tests/sync/dead-letter-property.test.ts',
  'tests/sync/offline-days.test.ts',
];

export default defineConfig({
  test: {
    // Two cores: the end-to-end suites spawn processes and a browser of their own.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          globalSetup: ['tests/global-setup.ts'],
          include: ['tests/**/*.test.ts', 'tests/**/*.test.tsx'],
          exclude: ['**/node_modules/**', ...HEAVY, 'tests/hub/store-postgres*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'hub-postgres',
          globalSetup: ['tests/pg-global-setup.ts'],
          include: POSTGRES_SUITES,
          env: { HAOCHA_TEST_HUB_DB: 'postgres' },
          benchmark: { include: [] },
        },
      },
    ],
  },
});
