import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { LoaderError } from '../../errors.ts';
import { BOOKKEEPING_SCHEMAS } from '../bookkeeping-tables.ts';
import type { WarehouseSchema } from '../destination.ts';
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

/**
 * What one open instance knows between the loads that reuse it: the warehouse schema as the last load left it.
 * Valid only while the instance is open (this process then holds DuckDB's lock: nobody else changes the file).
 */
export interface InstanceCache {
  schema: WarehouseSchema | undefined;
}

/** One load's exclusive use of a warehouse file: its connection, and `release()` when the load is over. */
export interface DuckDBLease {
  readonly connection: DuckDBConnection;
  readonly cache: InstanceCache;
  release(): void;
}

/**
 * How long an instance is handed from load to queued load before it is closed anyway (then reopened by the next):
 * other processes (`npm run query`, a chaos harness) read the file between loads, and a steady queue must not keep
 * them out for ever.
 */
export const MAX_INSTANCE_REUSE_MS = 2000;

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

  /** Whether a load is waiting for the file. */
  queued(): boolean {
    return this.waiters.length > 0;
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.held = false;
  }
}

interface OpenFile {
  instance: DuckDBInstance;
  connection: DuckDBConnection;
  cache: InstanceCache;
  openedAt: number;
}

interface FileState {
  mutex: FileMutex;
  /** The instance kept open for a queued load (set only between a release and the next lease). */
  open: OpenFile | undefined;
}

/**
 * The DuckDB files of one process. DuckDB's file lock excludes other processes only: two `DuckDBInstance`s of one
 * file in one process are not prevented, not supported, and corrupt the file (issue 12). So a process holds at
 * most one instance per file, and a load holds it exclusively from `open()` to `close()`: loads of one file in one
 * process run one after another (their staging, schema reads and commits never interleave).
 *
 * Between loads: while another load of the file is queued, the instance (and its schema cache) is handed to it as
 * it is, which saves the open, the checkpoint on close and the schema read of each small file; when no load is
 * queued, or the instance has been open `MAX_INSTANCE_REUSE_MS`, it is closed, so other processes (`npm run query`)
 * can open the file once the loader is idle.
 *
 * Owned by the process-level destination factory (`createDestinationFactory`), never by a module.
 */
export class DuckDBInstances {
  private readonly files = new Map<string, FileState>();
  /** Instances opened so far (the reuse rule's test reads it). */
  opened = 0;

  constructor(private readonly maxReuseMs = MAX_INSTANCE_REUSE_MS) {}

  async lease(options: DuckDBOpenOptions): Promise<DuckDBLease> {
    const key = path.resolve(options.path);
    let state = this.files.get(key);
    if (state === undefined) {
      state = { mutex: new FileMutex(), open: undefined };
      this.files.set(key, state);
    }
    const file = state;
    const started = Date.now();
    if (!(await file.mutex.acquire(options.lockTimeoutMs))) {
      throw new LoaderError(
        'SLUICE_ERR_LOAD_DESTINATION_LOCKED',
        `${options.path} (held by another load of this process for ${options.lockTimeoutMs} ms)`,
      );
    }
    try {
      const remaining = Math.max(0, options.lockTimeoutMs - (Date.now() - started));
      const open =
        (await this.reuse(file, options)) ?? (await this.openFile({ ...options, lockTimeoutMs: remaining }));
      let released = false;
      return {
        connection: open.connection,
        cache: open.cache,
        release: () => {
          if (released) return;
          released = true;
          try {
            if (file.mutex.queued() && Date.now() - open.openedAt < this.maxReuseMs) file.open = open;
            else closeFile(open);
          } finally {
            file.mutex.release();
          }
        },
      };
    } catch (error) {
      file.mutex.release();
      throw error;
    }
  }

  /**
   * The instance the previous load left open, if it still answers, back at the configured memory limit (a commit
   * may have raised it) and outside any transaction. An instance that fails this is closed and a fresh one opened.
   */
  private async reuse(file: FileState, options: DuckDBOpenOptions): Promise<OpenFile | undefined> {
    const open = file.open;
    file.open = undefined;
    if (open === undefined) return undefined;
    try {
      await open.connection.run('ROLLBACK').catch(() => undefined);
      await open.connection.run(`SET memory_limit = '${options.memoryLimit.replace(/'/g, "''")}'`);
      return open;
    } catch {
      closeFile(open);
      return undefined;
    }
  }

  private async openFile(options: DuckDBOpenOptions): Promise<OpenFile> {
    const instance = await openInstance(options);
    this.opened++;
    try {
      const connection = await instance.connect();
      await prepare(connection, options.path);
      return { instance, connection, cache: { schema: undefined }, openedAt: Date.now() };
    } catch (error) {
      instance.closeSync();
      throw error;
    }
  }
}

function closeFile(open: OpenFile): void {
  try {
    open.connection.closeSync();
  } finally {
    open.instance.closeSync();
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
