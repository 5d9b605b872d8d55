import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { describeDestinationContract, meta, summary } from '../../../test/destination-contract.ts';
import { LoaderError } from '../../errors.ts';
import { cellsOf, type SchemaChange } from '../destination.ts';
import { duckdbDestination } from './duckdb-destination.ts';
import { classifyDuckdbError } from './duckdb-errors.ts';
import { commitMemoryLimit, doubledMemoryLimit } from './memory-limit.ts';
import { ident } from './sql.ts';

/** The contract, twice: as configured, and with the users rows of repeated ids merged in partitions of ~1 row. */
for (const usersPerAggregate of [undefined, 1]) {
  describeDestinationContract(
    usersPerAggregate === undefined ? 'duckdb' : 'duckdb, repeated users aggregated in partitions of ~1 row',
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

describe('duckdb destination: memory limit', () => {
  /** One load of `rows` rows into a table of `columns` INT64 columns (plus id and received_at). */
  async function wideLoad(
    file: string,
    memoryLimit: string,
    columns: number,
    rows: number,
    profiler?: (step: string, ms: number) => void,
  ) {
    const d = duckdbDestination({ path: file, lockTimeoutMs: 5000, memoryLimit, profiler });
    await d.open();
    try {
      const session = await d.beginLoad(meta('b/wide#1', 'L1'));
      const names = Array.from({ length: columns }, (_c, i) => `p${i}`);
      const create: SchemaChange = {
        kind: 'create_table',
        table: 'wide',
        columns: [
          { name: 'id', type: 'STRING' },
          { name: 'received_at', type: 'TIMESTAMP' },
          ...names.map((name) => ({ name, type: 'INT64' as const })),
        ],
      };
      await session.applySchemaChanges([create]);
      const at = '2026-01-01T00:00:00Z';
      await session.appendRows(
        'wide',
        Array.from({ length: rows }, (_r, i) => ({
          eventId: `e${i}`,
          line: i + 1,
          receivedAt: at,
          ...cellsOf({
            id: `e${i}`,
            received_at: at,
            ...Object.fromEntries(names.map((n, k) => [n, i + k])),
          }),
        })),
      );
      return await session.commit(summary(rows, rows, [create]));
    } finally {
      await d.close();
    }
  }

  it('loads a 400-column table of 5,000 rows at the default 96MB: the commit gets what its columns need', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sluice-wide-'));
    const file = path.join(dir, 'w.duckdb');
    try {
      const record = await wideLoad(file, '96MB', 400, 5000);
      expect(record).toMatchObject({ status: 'loaded', rowsWritten: 5000, eventsLoaded: 5000 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a commit that runs out of memory at its estimated limit is run again at twice the limit, and loads', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sluice-oom-'));
    const file = path.join(dir, 'w.duckdb');
    try {
      // 240 columns x 3,000 rows: the estimate for '24MB' (24 MB + 90 x 640 KiB) is too low for this table.
      const statements: string[] = [];
      const record = await wideLoad(file, '24MB', 240, 3000, (step) => statements.push(step));
      expect(record).toMatchObject({ status: 'loaded', rowsWritten: 3000, eventsLoaded: 3000 });
      // Raised, then set back once committed (what runs after the commit, the identity upkeep, gets 24MB again).
      const committed = statements.lastIndexOf('COMMIT');
      expect(
        statements.slice(0, committed).filter((s) => s.startsWith('SET memory_limit')).length,
      ).toBeGreaterThan(1);
      expect(statements.slice(committed + 1)).toContain("SET memory_limit = '…'");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('doubles a memory limit it can read, and only those', () => {
    expect(doubledMemoryLimit('96MB')).toBe('192MB');
    expect(doubledMemoryLimit('1GB')).toBe('2000MB');
    expect(doubledMemoryLimit('lots')).toBeUndefined();
  });

  it('raises the limit only for fan-out: tables beyond 100, columns of the widest table beyond 150', () => {
    const typical = [60, 40, 35, 30, 20, 10, 8].map((columns) => ({ columns, rows: 200_000 }));
    expect(commitMemoryLimit('96MB', typical)).toBe('96MB');
    expect(commitMemoryLimit('96MB', [{ columns: 402, rows: 5000 }])).toBe(
      `${Math.ceil((96e6 + 252 * 640 * 1024) / 1e6)}MB`,
    );
    const fanOut = Array.from({ length: 250 }, () => ({ columns: 12, rows: 1 }));
    expect(commitMemoryLimit('96MB', fanOut)).toBe(`${Math.ceil((96e6 + 150 * 12 * 64 * 1024) / 1e6)}MB`);
    expect(commitMemoryLimit('1GB', fanOut)).toBe(`${Math.ceil((1e9 + 150 * 12 * 64 * 1024) / 1e6)}MB`);
  });
});

describe('duckdb destination: error classes (DuckDB gives only message text; its type prefix decides)', () => {
  it('retries what a retry can fix and quarantines the rest', () => {
    const c = (m: string) => classifyDuckdbError(new Error(m), 'ctx');
    expect(c('IO Error: Could not set lock on file "w.duckdb": Conflicting lock is held')).toMatchObject({
      code: 'SLUICE_ERR_LOAD_DESTINATION_LOCKED',
      retryable: true,
    });
    // "block" contains "lock": an out-of-memory error is not a lock conflict.
    expect(c('Out of Memory Error: could not allocate block of size 32.0 KiB')).toMatchObject({
      code: 'SLUICE_ERR_LOAD_DESTINATION_OUT_OF_MEMORY',
      retryable: true,
    });
    expect(c('IO Error: Failure while replaying WAL file "w.duckdb.wal"')).toMatchObject({
      code: 'SLUICE_ERR_LOAD_DESTINATION_UNAVAILABLE',
      retryable: true,
    });
    expect(c('Invalid Input Error: no low surrogate in string')).toMatchObject({
      code: 'SLUICE_ERR_LOAD_DESTINATION_REJECTED',
      retryable: false,
    });
    expect(c('Conversion Error: Could not convert string "x" to INT64')).toMatchObject({
      code: 'SLUICE_ERR_LOAD_DESTINATION_REJECTED',
      retryable: false,
    });
    expect(c('something without a type')).toMatchObject({ retryable: true });
  });
});
