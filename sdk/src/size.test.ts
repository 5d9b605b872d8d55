import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

/** The script-tag build's budget: everything the issue asks for, at most 5 KB min+gzip. */
export const BUDGET_BYTES = 5 * 1024;

describe('browser bundle size', () => {
  const file = new URL('../dist/sluice.iife.js', import.meta.url);
  it(`sdk/dist/sluice.iife.js is at most ${BUDGET_BYTES} bytes min+gzip (run \`npm run build -w sdk\` first)`, () => {
    expect(existsSync(file), 'sdk/dist/sluice.iife.js is missing: run `npm run build -w sdk`').toBe(true);
    const src = readFileSync(file);
    const gz = gzipSync(src, { level: 9 }).length;
    expect(gz).toBeLessThanOrEqual(BUDGET_BYTES);
    // minified (one statement per line at most a handful) and free of TypeBox
    expect(src.toString()).not.toMatch(/TypeCompiler|sinclair/);
  });
});
