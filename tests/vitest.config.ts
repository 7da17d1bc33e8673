import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['tests/**/*.test.ts', 'web/**/*.test.ts'],
    globalSetup: ['tests/helpers/global-setup.ts'],
    // The service's request log is for operators; tests keep warnings and errors.
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Two cores: files in parallel would fight over the one PostgreSQL cluster and Chromium.
    fileParallelism: false,
    reporters: ['default'],
  },
});
