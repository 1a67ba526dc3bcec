import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // End-to-end files start their own S3 server and CLI processes: give them room, and keep
    // the 2-core machine from running too many of them at once.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
