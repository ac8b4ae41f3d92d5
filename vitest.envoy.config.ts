import { defineConfig } from 'vitest/config';

// The Envoy container suite (test/envoy/): a real Envoy in a container against Switchyard in
// process. Skipped, with one line saying why, when no container runtime is reachable.
// Run: npx vitest run --config vitest.envoy.config.ts (docs/envoy.md).
export default defineConfig({
  test: {
    include: ['test/envoy/**/*.test.ts'],
    // Containers start in beforeAll hooks; the first run pulls images.
    testTimeout: 120_000,
    hookTimeout: 600_000,
    pool: 'forks',
    // One Envoy scenario at a time: they share the testcontainers port forwarder.
    fileParallelism: false,
    allowOnly: false,
  },
});
