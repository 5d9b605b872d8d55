import type { DuckDBConnection } from '@duckdb/node-api';
import { LoaderError } from '../../errors.ts';
import { duckdbIdentityStore } from '../../identity/duckdb-store.ts';
import type { Destination, LoadMeta, LoadRecord, LoadSession, WarehouseSchema } from '../destination.ts';
import { duckdbLoadAttempts } from './attempts.ts';
import { DUCKDB_CAPABILITIES } from './capabilities.ts';
import { DuckDBInstances, type DuckDBLease } from './instances.ts';
import { copySchema, duckdbLoadSession } from './load-session.ts';
import { findLoadIn } from './loads-rows.ts';
import { type LoadProfiler, profiledConnection } from './profile.ts';
import { logicalTypeOf } from './sql.ts';

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
  /**
   * The process's DuckDB files (one per process, from the destination factory): every destination of one file in
   * one process must share it. Without one, the destination has its own, which is safe only while no other
   * destination of the same file is used in this process at the same time.
   */
  instances?: DuckDBInstances;
  /** Told the time of each statement of a load and of its stage writes (the bench's profile of a commit). */
  profiler?: LoadProfiler;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The DuckDB destination. Holds the file between `open()` and `close()` (one load), and past it only while another
 * load of this process is queued for the file (`DuckDBInstances`), so another process (`npm run query`) can read
 * once the loader is idle; DuckDB allows one writer process per file, and `DuckDBInstances` allows one load at a
 * time per file in this process.
 */
export function duckdbDestination(options: DuckDBDestinationOptions): Destination {
  let lease: DuckDBLease | undefined;
  const instances = options.instances ?? new DuckDBInstances();
  const stageRoot = `${options.path}.stage`;
  const memoryLimit = options.memoryLimit ?? DEFAULT_DUCKDB_MEMORY_LIMIT;

  const conn = (): DuckDBConnection => {
    if (!lease) throw new LoaderError('SLUICE_ERR_LOAD_DESTINATION_UNAVAILABLE', 'destination is not open');
    return lease.connection;
  };

  return {
    capabilities: DUCKDB_CAPABILITIES,
    ...duckdbLoadAttempts(conn),
    identity: {
      schedule: 'per_file',
      store: () => duckdbIdentityStore(profiledConnection(conn(), options.profiler)),
    },

    async open(): Promise<void> {
      if (lease) return;
      lease = await instances.lease({
        path: options.path,
        memoryLimit,
        lockTimeoutMs: options.lockTimeoutMs,
        sleep: options.sleep ?? defaultSleep,
      });
    },

    async close(): Promise<void> {
      const held = lease;
      lease = undefined;
      held?.release();
    },

    async findLoad(loadKey: string): Promise<LoadRecord | undefined> {
      return findLoadIn(conn(), loadKey);
    },

    async readSchema(): Promise<WarehouseSchema> {
      // The schema the previous load of this instance committed (nothing else writes while it is open).
      const cache = lease?.cache;
      const cached = cache?.schema;
      if (cached !== undefined) return copySchema(cached);
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
      if (cache !== undefined) cache.schema = copySchema(schema);
      return schema;
    },

    async beginLoad(meta: LoadMeta): Promise<LoadSession> {
      const schema = await this.readSchema();
      return duckdbLoadSession(
        profiledConnection(conn(), options.profiler),
        meta,
        schema,
        stageRoot,
        memoryLimit,
        {
          usersPerAggregate: options.usersPerAggregate,
          profiler: options.profiler,
          cache: lease?.cache,
        },
      );
    },
  };
}
