import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS } from './errors.ts';

describe('error registry', () => {
  it('documents every code in docs/errors/publisher.md with its status and retryable flag', () => {
    const doc = readFileSync(new URL('../../docs/errors/publisher.md', import.meta.url), 'utf8');
    for (const [code, { status, retryable }] of Object.entries(ERRORS)) {
      expect(doc, code).toMatch(
        new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${status}\\s*\\|\\s*${retryable ? 'yes' : 'no'}\\s*\\|`),
      );
    }
  });
});
