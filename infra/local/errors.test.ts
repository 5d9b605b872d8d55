import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './config.ts';
import { LOCAL_ERRORS } from './errors.ts';

describe('local error registry', () => {
  it('documents every code in docs/local.md', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'local.md'), 'utf8');
    const missing = Object.keys(LOCAL_ERRORS).filter((code) => !doc.includes(`\`${code}\``));
    expect(missing).toEqual([]);
  });

  it('uses the SLUICE_ERR_LOCAL_ prefix', () => {
    for (const code of Object.keys(LOCAL_ERRORS)) expect(code).toMatch(/^SLUICE_ERR_LOCAL_[A-Z_]+$/);
  });
});
