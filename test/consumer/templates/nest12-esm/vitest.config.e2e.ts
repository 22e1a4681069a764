import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globals: true,
    root: './',
    include: ['**/*.e2e-spec.ts'],
    testTimeout: 30_000,
    // Read when AppModule is imported: an in-memory database per app, and the shared secret.
    env: {
      SQLITE_PATH: ':memory:',
      API_SHARED_SECRET: 'consumer-e2e-shared-secret-0123456789abcdef',
    },
  },
});
