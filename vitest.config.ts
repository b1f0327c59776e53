import { defineConfig } from 'vitest/config';

// The whole suite runs against PGlite by default and against PostgreSQL when
// TEST_DATABASE_URL is set (each test file then gets its own database cloned from a
// migrated template, see test/global-setup.ts).
export default defineConfig({
  // Resolve graphql the way Node does (its CommonJS entry). Vite would otherwise pick the
  // "module" entry for our code while CommonJS dependencies load the other one, and graphql
  // refuses to mix two copies of itself.
  resolve: { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Fails a file that leaves servers, sockets or child processes open.
    setupFiles: ['test/helpers/leak-check.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 20_000,
    restoreMocks: true,
  },
});
