import { defineConfig } from 'vitest/config';

/** `npm run test:faults`: the fault proxy's unit tests and the full fault matrix (test/faults). */
export default defineConfig({
  test: {
    include: ['test/faults/faultProxy.test.ts', 'test/faults/**/*.full.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 240_000,
    hookTimeout: 120_000,
  },
});
