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
    reporters: ['default'],
  },
});
