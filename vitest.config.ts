import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/envoy/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end suites bind real sockets and run grpc-js-xds clients; keep them isolated.
    pool: 'forks',
    allowOnly: false,
  },
});
