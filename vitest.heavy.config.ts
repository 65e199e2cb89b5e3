import { defineConfig } from 'vitest/config';
import { HEAVY } from './vitest.config.ts';

/** The heavy suites of vitest.config.ts, one file at a time, after the rest (npm test runs both). */
export default defineConfig({
  test: {
    include: HEAVY,
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
