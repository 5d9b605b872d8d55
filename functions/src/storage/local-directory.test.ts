import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LoaderError } from '../errors.ts';
import { localDirectoryStore } from './local-directory.ts';

const SECRET = 'top secret\n';

describe('localDirectoryStore (ObjectStore over $SLUICE_BUCKETS_DIR/<bucket>)', () => {
  let root: string;
  let dir: string;
  beforeEach(async () => {
    // <root>/secret.txt and <root>/outside/secret.txt lie outside the buckets directory <root>/buckets.
    root = await mkdtemp(path.join(tmpdir(), 'sluice-store-'));
    dir = path.join(root, 'buckets');
    await mkdir(path.join(dir, 'bkt', 'raw', '2026-01-02'), { recursive: true });
    await mkdir(path.join(dir, 'bkt', 'raw', '2026-01-01'), { recursive: true });
    await mkdir(path.join(root, 'outside'), { recursive: true });
    await writeFile(path.join(dir, 'bkt', 'raw', '2026-01-02', 'y.ndjson'), 'two\n');
    await writeFile(path.join(dir, 'bkt', 'raw', '2026-01-01', 'x.ndjson'), 'one\n');
    await writeFile(path.join(dir, 'bkt', 'other.txt'), 'x');
    await writeFile(path.join(root, 'secret.txt'), SECRET);
    await writeFile(path.join(root, 'outside', 'secret.txt'), SECRET);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const text = async (stream: AsyncIterable<unknown>): Promise<string> => {
    let out = '';
    for await (const chunk of stream) out += String(chunk);
    return out;
  };

  it('reads an object as a stream', async () => {
    const store = localDirectoryStore(dir);
    expect(await text(await store.read('bkt', 'raw/2026-01-01/x.ndjson'))).toBe('one\n');
  });

  it('stats with a generation that changes when the file is replaced', async () => {
    const store = localDirectoryStore(dir);
    const before = await store.stat('bkt', 'raw/2026-01-01/x.ndjson');
    expect(before).toMatchObject({ bucket: 'bkt', name: 'raw/2026-01-01/x.ndjson', size: 4 });
    expect(before?.generation).toMatch(/^\d+$/);
    const file = path.join(dir, 'bkt', 'raw', '2026-01-01', 'x.ndjson');
    await writeFile(file, 'replaced\n');
    await utimes(file, new Date(), new Date(Date.now() + 5000));
    expect((await store.stat('bkt', 'raw/2026-01-01/x.ndjson'))?.generation).not.toBe(before?.generation);
    expect(await store.stat('bkt', 'raw/nope.ndjson')).toBeUndefined();
  });

  it('lists objects under a prefix in name order, across sub-directories', async () => {
    const names: string[] = [];
    for await (const o of localDirectoryStore(dir).list('bkt', 'raw/')) names.push(o.name);
    expect(names).toEqual(['raw/2026-01-01/x.ndjson', 'raw/2026-01-02/y.ndjson']);
    const none: string[] = [];
    for await (const o of localDirectoryStore(dir).list('missing-bucket', '')) none.push(o.name);
    expect(none).toEqual([]);
  });

  it('reports a missing object as NOT_FOUND (not retryable)', async () => {
    const error = await localDirectoryStore(dir)
      .read('bkt', 'raw/none.ndjson')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoaderError);
    expect((error as LoaderError).code).toBe('SLUICE_ERR_LOAD_OBJECT_NOT_FOUND');
    expect((error as LoaderError).retryable).toBe(false);
  });

  // The probes of issue 13 item 1: a CloudEvent naming a bucket or object outside the buckets directory.
  it.each([
    ['../../outside', 'secret.txt'],
    ['..', 'secret.txt'],
    ['../outside', 'secret.txt'],
    ['bkt', '../../secret.txt'],
    ['bkt', '../../outside/secret.txt'],
    ['bkt', 'raw/../../../secret.txt'],
    ['bkt', '/etc/passwd'],
    ['bkt', '//tmp/secret.txt'],
    ['bkt/../..', 'secret.txt'],
    ['BKT', 'other.txt'],
  ])('refuses bucket %j object %j as a bad CloudEvent, reading nothing', async (bucket, name) => {
    const store = localDirectoryStore(dir);
    await expect(store.read(bucket, name)).rejects.toMatchObject({ code: 'SLUICE_ERR_LOAD_BAD_CLOUDEVENT' });
    await expect(store.stat(bucket, name)).rejects.toMatchObject({ code: 'SLUICE_ERR_LOAD_BAD_CLOUDEVENT' });
  });

  it('does not follow a symlink out of the bucket, nor a symlinked bucket directory', async () => {
    await symlink(path.join(root, 'secret.txt'), path.join(dir, 'bkt', 'link.txt'));
    await symlink(path.join(root, 'outside'), path.join(dir, 'bkt', 'linked-dir'));
    await symlink(path.join(root, 'outside'), path.join(dir, 'linked-bucket'));
    await symlink(path.join(dir, 'bkt', 'other.txt'), path.join(dir, 'bkt', 'inside-link.txt'));
    const store = localDirectoryStore(dir);
    for (const [bucket, name] of [
      ['bkt', 'link.txt'],
      ['bkt', 'linked-dir/secret.txt'],
      ['linked-bucket', 'secret.txt'],
    ] as const) {
      await expect(store.read(bucket, name)).rejects.toMatchObject({
        code: 'SLUICE_ERR_LOAD_OBJECT_NOT_FOUND',
      });
    }
    const listed: string[] = [];
    for await (const o of store.list('bkt', '')) listed.push(o.name);
    expect(listed).not.toContain('link.txt');
    expect(listed).not.toContain('linked-dir/secret.txt');
    // A link that stays inside the bucket is an ordinary object.
    expect(await text(await store.read('bkt', 'inside-link.txt'))).toBe('x');
  });

  it('with checkBucketNames false (npm run load <file>), bucket "." is the directory itself, still contained', async () => {
    const store = localDirectoryStore(path.join(dir, 'bkt'), { checkBucketNames: false });
    expect(await text(await store.read('.', 'other.txt'))).toBe('x');
    await expect(store.read('..', 'secret.txt')).rejects.toMatchObject({
      code: 'SLUICE_ERR_LOAD_BAD_CLOUDEVENT',
    });
    await expect(store.read('.', '../../secret.txt')).rejects.toMatchObject({
      code: 'SLUICE_ERR_LOAD_BAD_CLOUDEVENT',
    });
  });

  it('never returns content from outside the buckets directory, whatever the names (fast-check)', async () => {
    const store = localDirectoryStore(dir);
    const segment = fc.constantFrom(
      '..',
      '.',
      '',
      'bkt',
      'raw',
      'outside',
      'secret.txt',
      'other.txt',
      '%2e%2e',
    );
    const pathLike = fc.array(segment, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('/'));
    const anyName = fc.oneof(
      pathLike,
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 20 }),
    );
    await fc.assert(
      fc.asyncProperty(anyName, anyName, async (bucket, name) => {
        try {
          const content = await text(await store.read(bucket, name));
          expect(content).not.toBe(SECRET);
          expect(bucket).toBe('bkt');
        } catch (error) {
          expect(error).toBeInstanceOf(LoaderError);
          expect(['SLUICE_ERR_LOAD_BAD_CLOUDEVENT', 'SLUICE_ERR_LOAD_OBJECT_NOT_FOUND']).toContain(
            (error as LoaderError).code,
          );
        }
      }),
      { numRuns: 400 },
    );
  });
});
