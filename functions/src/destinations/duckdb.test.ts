import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { describeDestinationContract } from '../../test/destination-contract.ts';
import { LoaderError } from '../errors.ts';
import { duckdbDestination } from './duckdb.ts';
import { ident } from './duckdb-sql.ts';

/** The contract, twice: as configured, and with the users rows of repeated ids merged one id hash at a time. */
for (const usersPerAggregate of [undefined, 1]) {
  describeDestinationContract(
    usersPerAggregate === undefined ? 'duckdb' : 'duckdb, users aggregated per id hash',
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'sluice-contract-'));
      const file = path.join(dir, 'w.duckdb');
      return {
        destination: () => duckdbDestination({ path: file, lockTimeoutMs: 5000, usersPerAggregate }),
        async readTable(table) {
          const instance = await DuckDBInstance.create(file);
          const connection = await instance.connect();
          try {
            return (
              await connection.runAndReadAll(`SELECT * FROM ${ident(table)}`)
            ).getRowObjectsJson() as Record<string, unknown>[];
          } finally {
            connection.closeSync();
            instance.closeSync();
          }
        },
        cleanup: () => rm(dir, { recursive: true, force: true }),
      };
    },
  );
}

describe('duckdb destination: file lock', () => {
  it('waits for another holder of the file, then throws a retryable LOCKED error when it persists', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sluice-lock-'));
    const file = path.join(dir, 'w.duckdb');
    try {
      // DuckDB's file lock is per process: hold it from a child process, as `npm run query` would.
      const { spawn } = await import('node:child_process');
      const child = spawn(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `import { DuckDBInstance } from '@duckdb/node-api'; const i = await DuckDBInstance.create(${JSON.stringify(file)}); console.log('held'); setTimeout(() => i.closeSync(), 60000);`,
        ],
        { cwd: path.dirname(new URL(import.meta.url).pathname), stdio: ['ignore', 'pipe', 'inherit'] },
      );
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
        child.on('exit', (code) => reject(new Error(`holder exited ${code}`)));
      });
      const sleeps: number[] = [];
      const d = duckdbDestination({
        path: file,
        lockTimeoutMs: 300,
        sleep: async (ms) => {
          sleeps.push(ms);
          await new Promise((r) => setTimeout(r, ms));
        },
      });
      const error = await d.open().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LoaderError);
      expect((error as LoaderError).code).toBe('SLUICE_ERR_LOAD_DESTINATION_LOCKED');
      expect((error as LoaderError).retryable).toBe(true);
      expect(sleeps.length).toBeGreaterThan(1);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      // Once the holder is gone, the same destination opens.
      await d.open();
      await d.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
