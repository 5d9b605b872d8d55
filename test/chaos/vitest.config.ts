import { defineConfig } from 'vitest/config';

// `npm run test:chaos`: every chaos scenario (short ones, `*.test.ts`, also run in `npm test`; the rest,
// `*.chaos.ts`, only here) and the fuzz suites, one file at a time (each scenario starts a whole local stack).
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/chaos/**/*.{test,chaos}.ts'],
    allowOnly: false,
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default'],
  },
});
