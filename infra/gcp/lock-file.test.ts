import { describe, expect, it } from 'vitest';
import { type LockFile, lockFileFor } from './lock-file.ts';

const entry = (version: string, dependencies?: Record<string, string>) => ({
  version,
  resolved: `https://registry.npmjs.org/x/-/x-${version}.tgz`,
  integrity: `sha512-${version}`,
  ...(dependencies ? { dependencies } : {}),
});

const root: LockFile = {
  lockfileVersion: 3,
  packages: {
    '': { name: 'ws' },
    'node_modules/a': { ...entry('1.0.0', { b: '^1' }), dev: true },
    'node_modules/b': entry('1.2.0'),
    'functions/node_modules/b': entry('2.0.0'),
    'node_modules/a/node_modules/c': entry('3.0.0'),
    'node_modules/d': entry('1.0.0', { c: '^1' }),
    'node_modules/c': entry('1.0.0'),
    'node_modules/@sluice/sdk': { resolved: 'sdk', link: true },
  },
};

describe('lockFileFor', () => {
  it('resolves as Node does from the workspace: its own node_modules first, nested copies kept, dev flags dropped', () => {
    const lock = lockFileFor(root, 'publisher', 'fn', { a: '1.0.0', d: '1.0.0' });
    expect(Object.keys(lock.packages).sort()).toEqual([
      '',
      'node_modules/a',
      'node_modules/b',
      'node_modules/c',
      'node_modules/d',
    ]);
    expect(lock.packages['node_modules/b']?.version).toBe('1.2.0');
    expect(lock.packages['node_modules/a']).not.toHaveProperty('dev');
    expect(lock.packages['']).toEqual({
      name: 'fn',
      version: '0.0.0',
      dependencies: { a: '1.0.0', d: '1.0.0' },
    });
  });

  it('refuses what the function cannot install as tested: missing packages, workspace links, a place needing two versions', () => {
    expect(() => lockFileFor(root, 'publisher', 'fn', { zzz: '1.0.0' })).toThrow(
      /zzz .* is not in the lock file/,
    );
    expect(() => lockFileFor(root, 'publisher', 'fn', { '@sluice/sdk': '*' })).toThrow(/workspace link/);
    // functions/ sees b@2 itself, but a (hoisted at the root) was tested with b@1: both would be node_modules/b.
    expect(() => lockFileFor(root, 'functions', 'fn', { b: '2.0.0', a: '1.0.0' })).toThrow(/would hold both/);
  });
});
