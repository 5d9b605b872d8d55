import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketNameProblem, localObjectNameProblem, objectNameProblem } from './object-name.ts';

// Cases from Cloud Storage's naming pages (https://cloud.google.com/storage/docs/buckets#naming and
// https://cloud.google.com/storage/docs/objects#naming).
describe('bucketNameProblem', () => {
  it.each([
    'my-travel-maps',
    'sluice-raw',
    'a_b',
    '0ab',
    'example.com.bucket',
    `${'a'.repeat(63)}.${'b'.repeat(63)}`,
  ])('accepts %j', (name) => {
    expect(bucketNameProblem(name)).toBeUndefined();
  });
  it.each([
    'ab',
    'My-Travel-Maps',
    'my_google_bucket',
    'g00gle-bucket',
    'goog-bucket',
    '192.168.5.4',
    '-bucket',
    'bucket-',
    'bucket.',
    'a..b',
    'a/b',
    '..',
    '../../outside',
    'a b c',
    'a'.repeat(64),
    `${'a'.repeat(64)}.bbb`,
  ])('refuses %j', (name) => {
    expect(bucketNameProblem(name)).toEqual(expect.any(String));
  });

  it('accepts exactly the names built from the rules (fast-check)', () => {
    const char = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_');
    const edge = fc.constantFrom(...'abcdefhijklmnpqrstuvwxyz0123456789');
    const valid = fc
      .tuple(edge, fc.array(char, { maxLength: 40 }), edge)
      .map(([a, mid, b]) => `${a}${mid.join('')}${b}`)
      .filter((n) => !n.includes('goog') && !/g[o0]{2}g[l1]e/.test(n) && n.length >= 3);
    fc.assert(fc.property(valid, (n) => bucketNameProblem(n) === undefined));
    // Any character outside a-z0-9._- anywhere makes the name invalid.
    const bad = fc.string({ minLength: 1, maxLength: 3 }).filter((s) => /[^a-z0-9._-]/.test(s));
    fc.assert(
      fc.property(valid, bad, fc.nat(), (n, b, at) => {
        const i = at % (n.length + 1);
        return bucketNameProblem(n.slice(0, i) + b + n.slice(i)) !== undefined;
      }),
    );
  });
});

describe('objectNameProblem / localObjectNameProblem', () => {
  it.each(['raw/2026-12-03T09:00:00Z_abc.ndjson', 'a', 'ünïcödé/名前.txt', 'x'.repeat(1024)])(
    'accepts %j',
    (name) => {
      expect(objectNameProblem(name)).toBeUndefined();
      if (!name.startsWith('x')) expect(localObjectNameProblem(name)).toBeUndefined();
    },
  );
  it.each([
    '',
    '.',
    '..',
    'a\nb',
    'a\rb',
    '.well-known/acme-challenge/token',
    'é'.repeat(513),
    'lone \ud800 surrogate',
  ])('GCS refuses %j', (name) => {
    expect(objectNameProblem(name)).toEqual(expect.any(String));
    expect(localObjectNameProblem(name)).toEqual(expect.any(String));
  });
  it.each(['../x', 'a/../b', 'a/./b', '/abs', 'a//b', 'dir/', 'nul\0byte', `${'s'.repeat(256)}/x`])(
    'a local bucket also refuses %j (a path could not hold it, or it would leave the bucket)',
    (name) => {
      expect(localObjectNameProblem(name)).toEqual(expect.any(String));
    },
  );

  it('a name the local rules accept never has a segment that moves up or sideways (fast-check)', () => {
    const segment = fc.constantFrom('..', '.', '', 'a', 'b.c', '...', ' ', '\\..');
    const name = fc.oneof(
      fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => s.join('/')),
      fc.string({ maxLength: 30 }),
    );
    fc.assert(
      fc.property(name, (n) => {
        if (localObjectNameProblem(n) !== undefined) return true;
        return n.split('/').every((s) => s !== '' && s !== '.' && s !== '..') && !n.includes('\0');
      }),
    );
  });
});
