import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDBInstances } from './instances.ts';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('DuckDBInstances: one instance per file per process, one load at a time', () => {
  it('a second lease of the file waits for the first to be released, step by step; another file does not wait', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sluice-inst-'));
    const file = path.join(dir, 'w.duckdb');
    const instances = new DuckDBInstances();
    const options = { path: file, memoryLimit: '96MB', lockTimeoutMs: 10_000, sleep };
    try {
      const first = await instances.lease(options);
      await first.connection.run('CREATE TABLE t (x INT)');
      const second = instances.lease(options);
      const other = await instances.lease({ ...options, path: path.join(dir, 'other.duckdb') });
      other.release();
      expect(await Promise.race([second.then(() => 'granted'), Promise.resolve('pending')])).toBe('pending');
      await first.connection.run('INSERT INTO t VALUES (1)');
      first.release();
      const lease = await second;
      // The second load sees the first one's committed row: same file, instance reopened.
      expect((await lease.connection.runAndReadAll('SELECT x FROM t')).getRows()).toEqual([[1]]);
      lease.release();
      lease.release();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a lease that waits longer than the lock timeout throws the retryable LOCKED error and takes nothing', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sluice-inst-'));
    const file = path.join(dir, 'w.duckdb');
    const instances = new DuckDBInstances();
    try {
      const first = await instances.lease({ path: file, memoryLimit: '96MB', lockTimeoutMs: 1000, sleep });
      const error = await instances
        .lease({ path: file, memoryLimit: '96MB', lockTimeoutMs: 30, sleep })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'SLUICE_ERR_LOAD_DESTINATION_LOCKED', retryable: true });
      first.release();
      // The timed-out waiter left the queue: the next lease is granted at once.
      const next = await instances.lease({ path: file, memoryLimit: '96MB', lockTimeoutMs: 30, sleep });
      next.release();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
