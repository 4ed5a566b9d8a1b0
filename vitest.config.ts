import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // The full fault matrix runs with `npm run test:faults` (vitest.faults.config.ts); its fast
    // subset, test/faults/matrix.test.ts, runs here.
    exclude: [...configDefaults.exclude, 'test/**/*.full.test.ts'],
    // Child processes: each worker owns its Anvil (started lazily by test/support/anvil.ts) and can
    // be cleaned up by pid. With the default `isolate: true`, every test file gets a fresh fork.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // No globalSetup/setupFiles for Anvil: test/support/anvil.ts starts one lazily per worker and
    // registers its own afterAll when a test file imports it, so files without chain tests pay nothing.
  },
});
