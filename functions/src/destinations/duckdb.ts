import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { LoaderError } from '../errors.ts';
import { SQL_RESERVED_COLUMN_PREFIXES, SQL_RESERVED_WORDS } from '../naming/sql-reserved-words.ts';
import { BOOKKEEPING_SCHEMAS } from './bookkeeping-tables.ts';
import type {
  Destination,
  DestinationCapabilities,
  LoadMeta,
  LoadRecord,
  LoadSession,
  WarehouseSchema,
} from './destination.ts';
import { duckdbLoadSession, findLoadIn } from './duckdb-session.ts';
import { DUCKDB_TYPES, ident, logicalTypeOf } from './duckdb-sql.ts';

/** Same naming limits as BigQuery on purpose: a key gets the same column name locally and in production. */
export const DUCKDB_CAPABILITIES: DestinationCapabilities = {
  name: 'duckdb',
  maxColumnNameLength: 300,
  maxTableNameLength: 1024,
  caseInsensitiveNames: true,
  reservedWords: SQL_RESERVED_WORDS,
  reservedColumnPrefixes: SQL_RESERVED_COLUMN_PREFIXES,
  typeMap: DUCKDB_TYPES,
  canWidenIntToFloat: true,
  maxColumns: 10_000,
};

/** DuckDB's memory limit during a load unless set (`SLUICE_DUCKDB_MEMORY_LIMIT`; see `memoryLimit`). */
export const DEFAULT_DUCKDB_MEMORY_LIMIT = '96MB';

export interface DuckDBDestinationOptions {
  path: string;
  /**
   * DuckDB's memory limit for a load (e.g. `256MB`). The commit's uncommitted rows and its aggregates spill past
   * it to `<path>.tmp/`, which keeps the loader's memory bounded by the limit, not by the file size. Default
   * `96MB` (with one thread and no insertion-order preservation, which a load does not need); each `read_json`
   * of a staged file needs a 32 MB buffer of it.
   */
  memoryLimit?: string;
  /** Keep retrying a locked file this long, then throw a retryable SLUICE_ERR_LOAD_DESTINATION_LOCKED. */
  lockTimeoutMs: number;
  /** Users rows of repeated ids aggregated per statement (default `USERS_PER_AGGREGATE`; tests set it low). */
  usersPerAggregate?: number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** DuckDB reports a held file lock only in its message text; there is no code to match. */
function isLockConflict(error: unknown): boolean {
  return error instanceof Error && /lock/i.test(error.message);
}

/**
 * The DuckDB destination. Holds the file open only between `open()` and `close()` (one load), so another process
 * (`npm run query`) can read between loads; DuckDB allows one writer per file.
 */
export function duckdbDestination(options: DuckDBDestinationOptions): Destination {
  let instance: DuckDBInstance | undefined;
  let connection: DuckDBConnection | undefined;
  const sleep = options.sleep ?? defaultSleep;
  const stageRoot = `${options.path}.stage`;
  const memoryLimit = options.memoryLimit ?? DEFAULT_DUCKDB_MEMORY_LIMIT;

  const conn = (): DuckDBConnection => {
    if (!connection)
      throw new LoaderError('SLUICE_ERR_LOAD_DESTINATION_UNAVAILABLE', 'destination is not open');
    return connection;
  };

  return {
    capabilities: DUCKDB_CAPABILITIES,

    async open(): Promise<void> {
      if (connection) return;
      await mkdir(path.dirname(options.path), { recursive: true });
      const { DuckDBInstance: Instance } = await import('@duckdb/node-api');
      const deadline = Date.now() + options.lockTimeoutMs;
      let wait = 25;
      for (;;) {
        try {
          instance = await Instance.create(options.path, {
            memory_limit: memoryLimit,
            temp_directory: `${options.path}.tmp`,
            threads: '1',
            preserve_insertion_order: 'false',
            // Return freed memory to the OS instead of caching it: after a task that allocated more than 8MB, and
            // after any bulk free above 8MB (default 512MB, the size of a whole load's commit). Measured on a 1 GB
            // file: the commit's peak RSS falls by 60-90 MB; see docs/warehouse-schema.md.
            allocator_flush_threshold: '8MB',
            allocator_bulk_deallocation_flush_threshold: '8MB',
          });
          break;
        } catch (error) {
          if (!isLockConflict(error)) {
            throw new LoaderError('SLUICE_ERR_LOAD_DESTINATION_UNAVAILABLE', (error as Error).message, {
              cause: error,
            });
          }
          if (Date.now() + wait > deadline) {
            throw new LoaderError('SLUICE_ERR_LOAD_DESTINATION_LOCKED', options.path, { cause: error });
          }
          await sleep(wait);
          wait = Math.min(wait * 2, 1000);
        }
      }
      connection = await instance.connect();
      // Staged files of a load that died are orphans: we hold the single-writer lock, so no load is running.
      await rm(stageRoot, { recursive: true, force: true });
      for (const [table, columns] of Object.entries(BOOKKEEPING_SCHEMAS)) {
        const cols = columns.map((c) => `${ident(c.name)} ${DUCKDB_TYPES[c.type]}`).join(', ');
        await connection.run(`CREATE TABLE IF NOT EXISTS ${ident(table)} (${cols})`);
      }
    },

    async close(): Promise<void> {
      connection?.closeSync();
      instance?.closeSync();
      connection = undefined;
      instance = undefined;
    },

    async findLoad(loadKey: string): Promise<LoadRecord | undefined> {
      return findLoadIn(conn(), loadKey);
    },

    async readSchema(): Promise<WarehouseSchema> {
      const reader = await conn().runAndReadAll(
        `SELECT table_name, column_name, data_type FROM information_schema.columns
         WHERE table_schema = 'main' AND table_catalog = current_database() ORDER BY table_name, ordinal_position`,
      );
      const schema: WarehouseSchema = new Map();
      for (const row of reader.getRowObjectsJS()) {
        const type = logicalTypeOf(String(row.data_type));
        if (type === undefined) continue;
        const table = String(row.table_name).toLowerCase();
        let cols = schema.get(table);
        if (!cols) {
          cols = new Map();
          schema.set(table, cols);
        }
        cols.set(String(row.column_name).toLowerCase(), type);
      }
      return schema;
    },

    async beginLoad(meta: LoadMeta): Promise<LoadSession> {
      const schema = await this.readSchema();
      return duckdbLoadSession(conn(), meta, schema, stageRoot, memoryLimit, options.usersPerAggregate);
    },
  };
}
