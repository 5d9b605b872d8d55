import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, isRetryable, LoaderError } from './errors.ts';

describe('loader error registry', () => {
  const doc = readFileSync(new URL('../../docs/errors/functions.md', import.meta.url), 'utf8');

  it('documents every code with its retryable flag', () => {
    for (const [code, { retryable }] of Object.entries(ERRORS)) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${code}\``));
      expect(row, code).toBeDefined();
      expect(row?.split('|')[2]?.trim(), code).toBe(retryable ? 'yes' : 'no');
    }
  });

  it('documents no code that does not exist', () => {
    const documented = [...doc.matchAll(/^\| `(SLUICE_ERR_[A-Z_]+)`/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(ERRORS).sort());
  });

  it('carries code and retryable flag', () => {
    const e = new LoaderError('SLUICE_ERR_LOAD_DESTINATION_LOCKED', 'x');
    expect(e.code).toBe('SLUICE_ERR_LOAD_DESTINATION_LOCKED');
    expect(isRetryable(e)).toBe(true);
    expect(isRetryable(new LoaderError('SLUICE_ERR_LOAD_MALFORMED_JSON'))).toBe(false);
    expect(isRetryable(new Error('x'))).toBe(false);
  });
});
