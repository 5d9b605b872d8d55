import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SDK_ERRORS } from './errors.ts';
import { VERSION } from './version.ts';

describe('error registry', () => {
  const doc = readFileSync(new URL('../../docs/errors/sdk.md', import.meta.url), 'utf8');
  it.each(SDK_ERRORS.map((e) => [e.code, e.retryable] as const))(
    '%s is documented with its retry flag',
    (code, retryable) => {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${code}\``));
      expect(row, `${code} missing from docs/errors/sdk.md`).toBeDefined();
      expect(row!.split('|')[2]!.trim()).toBe(retryable ? 'yes' : 'no');
    },
  );
  it('codes are unique and follow SLUICE_ERR_SDK_<WHAT>', () => {
    const codes = SDK_ERRORS.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const c of codes) expect(c).toMatch(/^SLUICE_ERR_SDK_[A-Z_]+$/);
  });
  it('context.library.version matches sdk/package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(VERSION).toBe(pkg.version);
  });
});
