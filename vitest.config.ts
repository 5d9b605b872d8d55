import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{sdk,publisher,functions,infra,test}/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', '**/cdktf.out/**'],
    // A focused test (`.only`) fails the run instead of silently skipping the rest (STYLE: `.only` fails CI).
    allowOnly: false,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Vitest runs numCpus - 1 files at once by default: one on CI's 2 cores. Most files wait on child processes
    // (collectors, the emulator, Chromium), so two at once fits; every test takes a free port and its own temp dir.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
