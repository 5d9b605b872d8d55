import { defineConfig } from 'vitest/config';

// `npm run test:privacy`: the privacy suites too slow for npm test (the BigQuery fake runs every statement as a
// job; the SIGKILL scenarios start the CLI twice in child processes). One file at a time.
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['functions/src/privacy/**/*.slow.ts'],
    allowOnly: false,
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default'],
  },
});
