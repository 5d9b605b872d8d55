import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{sdk,publisher,functions,infra,test}/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', '**/cdktf.out/**'],
    allowOnly: false,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
