import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = fileURLToPath(new URL('.', import.meta.url));
const docs = readFileSync(fileURLToPath(new URL('../../docs/deploy.md', import.meta.url)), 'utf8');

describe('infra/gcp error codes', () => {
  it('every SLUICE_ERR_INFRA_* code used in infra/gcp is documented in docs/deploy.md', () => {
    const sources = readdirSync(here).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    const codes = new Set<string>();
    for (const file of sources) {
      for (const match of readFileSync(`${here}${file}`, 'utf8').matchAll(/SLUICE_ERR_INFRA_[A-Z_]+/g)) {
        codes.add(match[0]);
      }
    }
    expect(codes.size).toBeGreaterThan(0);
    const undocumented = [...codes].filter((code) => !docs.includes(`\`${code}\``));
    expect(undocumented).toEqual([]);
  });
});
