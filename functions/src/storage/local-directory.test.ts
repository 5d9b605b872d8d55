import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LoaderError } from '../errors.ts';
import { localDirectoryStore } from './local-directory.ts';

describe('localDirectoryStore (ObjectStore over $SLUICE_BUCKETS_DIR/<bucket>)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sluice-store-'));
    await mkdir(path.join(dir, 'b', 'raw', '2026-01-02'), { recursive: true });
    await mkdir(path.join(dir, 'b', 'raw', '2026-01-01'), { recursive: true });
    await writeFile(path.join(dir, 'b', 'raw', '2026-01-02', 'y.ndjson'), 'two\n');
    await writeFile(path.join(dir, 'b', 'raw', '2026-01-01', 'x.ndjson'), 'one\n');
    await writeFile(path.join(dir, 'b', 'other.txt'), 'x');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads an object as a stream', async () => {
    const store = localDirectoryStore(dir);
    let text = '';
    for await (const chunk of await store.read('b', 'raw/2026-01-01/x.ndjson')) text += String(chunk);
    expect(text).toBe('one\n');
  });

  it('stats with a generation that changes when the file is replaced', async () => {
    const store = localDirectoryStore(dir);
    const before = await store.stat('b', 'raw/2026-01-01/x.ndjson');
    expect(before).toMatchObject({ bucket: 'b', name: 'raw/2026-01-01/x.ndjson', size: 4 });
    expect(before?.generation).toMatch(/^\d+$/);
    const file = path.join(dir, 'b', 'raw', '2026-01-01', 'x.ndjson');
    await writeFile(file, 'replaced\n');
    await utimes(file, new Date(), new Date(Date.now() + 5000));
    expect((await store.stat('b', 'raw/2026-01-01/x.ndjson'))?.generation).not.toBe(before?.generation);
    expect(await store.stat('b', 'raw/nope.ndjson')).toBeUndefined();
  });

  it('lists objects under a prefix in name order, across sub-directories', async () => {
    const names: string[] = [];
    for await (const o of localDirectoryStore(dir).list('b', 'raw/')) names.push(o.name);
    expect(names).toEqual(['raw/2026-01-01/x.ndjson', 'raw/2026-01-02/y.ndjson']);
    const none: string[] = [];
    for await (const o of localDirectoryStore(dir).list('missing-bucket', '')) none.push(o.name);
    expect(none).toEqual([]);
  });

  it('refuses names that escape the bucket, and reports a missing object as NOT_FOUND (not retryable)', async () => {
    const store = localDirectoryStore(dir);
    await expect(store.read('b', '../../etc/passwd')).rejects.toMatchObject({
      code: 'SLUICE_ERR_LOAD_OBJECT_NOT_FOUND',
    });
    const error = await store.read('b', 'raw/none.ndjson').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoaderError);
    expect((error as LoaderError).retryable).toBe(false);
  });
});
