import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { LoaderError } from '../../errors.ts';
import { BOOKKEEPING_SCHEMAS } from '../bookkeeping-tables.ts';
import { classifyDuckdbError, isLockConflict } from './duckdb-errors.ts';
import { DUCKDB_TYPES, ident } from './sql.ts';

/** How a file is opened (the DuckDB settings of a load). */
export interface DuckDBOpenOptions {
  path: string;
  memoryLimit: string;
  /** Wait this long for the file (held by a load of this process or by another process), then LOCKED. */
  lockTimeoutMs: number;
  sleep: (ms: number) => Promise<void>;
}

/** One load's exclusive use of a warehouse file: its connection, and `release()` when the load is over. */
export interface DuckDBLease {
  readonly connection: DuckDBConnection;
  release(): void;
}

/** A FIFO mutex whose waiters give up after a deadline. */
class FileMutex {
  private held = false;
  private readonly waiters: (() => void)[] = [];

  /** Resolves true once held, false if `timeoutMs` passed first (the caller then does not hold it). */
  acquire(timeoutMs: number): Promise<boolean> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const grant = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const at = this.waiters.indexOf(grant);
        if (at >= 0) this.waiters.splice(at, 1);
        resolve(false);
      }, timeoutMs);
      this.waiters.push(grant);
    });
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.held = false;
  }
}

/**
 * The DuckDB files of one process. DuckDB's file lock excludes other processes only: two `DuckDBInstance`s of one
 * file in one process are not prevented, not supported, and corrupt the file (issue 12). So a process holds at
 * most one instance per file, and a load holds it exclusively from `open()` to `close()`: loads of one file in one
 * process run one after another (their staging, schema reads and commits never interleave), and the instance is
 * closed between loads so that other processes (`npm run query`) can open the file.
 *
 * Owned by the process-level destination factory (`createDestinationFactory`), never by a module.
 */
export class DuckDBInstances {
  private readonly mutexes = new Map<string, FileMutex>();

  async lease(options: DuckDBOpenOptions): Promise<DuckDBLease> {
    const key = path.resolve(options.path);
    let mutex = this.mutexes.get(key);
    if (mutex === undefined) {
      mutex = new FileMutex();
      this.mutexes.set(key, mutex);
    }
    const started = Date.now();
    if (!(await mutex.acquire(options.lockTimeoutMs))) {
      throw new LoaderError(
        'SLUICE_ERR_LOAD_DESTINATION_LOCKED',
        `${options.path} (held by another load of this process for ${options.lockTimeoutMs} ms)`,
      );
    }
    try {
      const remaining = Math.max(0, options.lockTimeoutMs - (Date.now() - started));
      const instance = await openInstance({ ...options, lockTimeoutMs: remaining });
      try {
        const connection = await instance.connect();
        await prepare(connection, options.path);
        let released = false;
        return {
          connection,
          release: () => {
            if (released) return;
            released = true;
            try {
              connection.closeSync();
              instance.closeSync();
            } finally {
              mutex.release();
            }
          },
        };
      } catch (error) {
        instance.closeSync();
        throw error;
      }
    } catch (error) {
      mutex.release();
      throw error;
    }
  }
}

async function openInstance(options: DuckDBOpenOptions): Promise<DuckDBInstance> {
  await mkdir(path.dirname(options.path), { recursive: true });
  const { DuckDBInstance: Instance } = await import('@duckdb/node-api');
  const deadline = Date.now() + options.lockTimeoutMs;
  let wait = 25;
  for (;;) {
    try {
      return await Instance.create(options.path, {
        memory_limit: options.memoryLimit,
        temp_directory: `${options.path}.tmp`,
        threads: '1',
        preserve_insertion_order: 'false',
        // Return freed memory to the OS instead of caching it: after a task that allocated more than 8MB, and
        // after any bulk free above 8MB (default 512MB, the size of a whole load's commit). Measured on a 1 GB
        // file: the commit's peak RSS falls by 60-90 MB; see docs/warehouse-schema.md.
        allocator_flush_threshold: '8MB',
        allocator_bulk_deallocation_flush_threshold: '8MB',
      });
    } catch (error) {
      if (!isLockConflict(error)) throw classifyDuckdbError(error, `opening ${options.path}`);
      if (Date.now() + wait > deadline) {
        throw new LoaderError('SLUICE_ERR_LOAD_DESTINATION_LOCKED', options.path, { cause: error });
      }
      await options.sleep(wait);
      wait = Math.min(wait * 2, 1000);
    }
  }
}

/**
 * Runs when a load has just opened the file: it holds DuckDB's lock (no other process is loading) and this
 * process's mutex (no other load of this process is running), so every stage directory left is an orphan of a
 * load that died. Then the bookkeeping tables, created or completed (columns added since the table was made).
 */
async function prepare(connection: DuckDBConnection, file: string): Promise<void> {
  await rm(`${file}.stage`, { recursive: true, force: true });
  const reader = await connection.runAndReadAll(
    `SELECT table_name, column_name FROM information_schema.columns
     WHERE table_schema = 'main' AND table_catalog = current_database() AND table_name LIKE '\\_sluice\\_%' ESCAPE '\\'`,
  );
  const existing = new Set(reader.getRows().map(([t, c]) => `${String(t)}.${String(c)}`));
  for (const [table, columns] of Object.entries(BOOKKEEPING_SCHEMAS)) {
    const cols = columns.map((c) => `${ident(c.name)} ${DUCKDB_TYPES[c.type]}`).join(', ');
    await connection.run(`CREATE TABLE IF NOT EXISTS ${ident(table)} (${cols})`);
    if (!existing.has(`${table}.${columns[0]?.name}`)) continue;
    for (const c of columns) {
      if (existing.has(`${table}.${c.name}`)) continue;
      await connection.run(`ALTER TABLE ${ident(table)} ADD COLUMN ${ident(c.name)} ${DUCKDB_TYPES[c.type]}`);
    }
  }
}
