// Fails when a test file contains `.only(` — a focused test silently skips the rest of the suite.
import { execFileSync } from 'node:child_process';

const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.test.ts'], {
  encoding: 'utf8',
})
  .split('\n')
  .filter(Boolean);
const { readFileSync } = await import('node:fs');
const offenders = files.filter((f) => /\b(?:it|test|describe)\.only\s*\(/.test(readFileSync(f, 'utf8')));
if (offenders.length > 0) {
  process.stderr.write(`focused tests (.only) found in:\n${offenders.join('\n')}\n`);
  process.exit(1);
}
