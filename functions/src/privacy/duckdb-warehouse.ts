import type { DuckDBConnection } from '@duckdb/node-api';
import { DEFAULT_DUCKDB_MEMORY_LIMIT } from '../destinations/duckdb/duckdb-destination.ts';
import { DuckDBInstances } from '../destinations/duckdb/instances.ts';
import { DUCKDB_TYPES, ident } from '../destinations/duckdb/sql.ts';
import { duckdbIdentityStore } from '../identity/duckdb-store.ts';
import type { Dialect, PrivacyWarehouse, StatementParams } from './warehouse.ts';

const setTable = (name: string): string => ident(`_privacy_set_${name}`);

export const DUCKDB_DIALECT: Dialect = {
  table: ident,
  column: ident,
  set: (name) => `(SELECT v FROM ${setTable(name)})`,
  value: (name) => `$${name}`,
  contains: (haystack, needle) => `strpos(${haystack}, ${needle}) > 0`,
  timestamp: (expr) => `CAST(${expr} AS TIMESTAMPTZ)`,
  int: (expr) => `CAST(${expr} AS BIGINT)`,
  json: (expr) => `CAST(${expr} AS JSON)`,
};

export interface DuckDBWarehouseOptions {
  path: string;
  lockTimeoutMs: number;
  memoryLimit?: string;
  /** The process's DuckDB files (from the destination factory); one of its own otherwise. */
  instances?: DuckDBInstances;
}

/**
 * The DuckDB warehouse for a privacy request: the file leased exactly as a load leases it (`DuckDBInstances`:
 * DuckDB's lock against other processes, the mutex against loads of this process), held until `close()`. A load
 * waiting for the file therefore runs before or after the request's statements, never between a suppression
 * read and a commit. Sets are temp tables of the connection, filled with prepared INSERTs.
 */
export async function openDuckdbWarehouse(options: DuckDBWarehouseOptions): Promise<PrivacyWarehouse> {
  const instances = options.instances ?? new DuckDBInstances();
  const lease = await instances.lease({
    path: options.path,
    memoryLimit: options.memoryLimit ?? DEFAULT_DUCKDB_MEMORY_LIMIT,
    lockTimeoutMs: options.lockTimeoutMs,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  });
  const db: DuckDBConnection = lease.connection;

  const bind = async (sql: string, params: StatementParams): Promise<Record<string, string | null>> => {
    for (const [name, values] of Object.entries(params.sets ?? {})) {
      if (!sql.includes(setTable(name))) continue;
      await db.run(`CREATE OR REPLACE TEMP TABLE ${setTable(name)} (v VARCHAR)`);
      for (let i = 0; i < values.length; i += 500) {
        const chunk = values.slice(i, i + 500);
        await db.run(
          `INSERT INTO ${setTable(name)} VALUES ${chunk.map((_v, k) => `($${k + 1})`).join(', ')}`,
          chunk as string[],
        );
      }
    }
    return Object.fromEntries(
      Object.entries(params.values ?? {}).filter(([k]) => new RegExp(`\\$${k}\\b`).test(sql)),
    );
  };

  return {
    dialect: DUCKDB_DIALECT,
    identityStore: () => duckdbIdentityStore(db),
    async tables() {
      const reader = await db.runAndReadAll(
        `SELECT c.table_name, c.column_name FROM information_schema.columns c
         JOIN information_schema.tables t
           ON t.table_catalog = c.table_catalog AND t.table_schema = c.table_schema AND t.table_name = c.table_name
         WHERE c.table_schema = 'main' AND c.table_catalog = current_database() AND t.table_type = 'BASE TABLE'`,
      );
      const out = new Map<string, Set<string>>();
      for (const [t, c] of reader.getRows()) {
        const table = String(t).toLowerCase();
        let cols = out.get(table);
        if (!cols) {
          cols = new Set();
          out.set(table, cols);
        }
        cols.add(String(c).toLowerCase());
      }
      return out;
    },
    async select(sql, params = {}) {
      const values = await bind(sql, params);
      const reader = await db.runAndReadAll(sql, values);
      return reader.getRowObjectsJS() as Record<string, unknown>[];
    },
    async exec(sql, params = {}) {
      const values = await bind(sql, params);
      const result = await db.run(sql, values);
      return { affected: Number(result.rowsChanged), bytesBilled: 0n };
    },
    async ensureTable(table, columns) {
      const cols = columns.map((c) => `${ident(c.name)} ${DUCKDB_TYPES[c.type]}`).join(', ');
      await db.run(`CREATE TABLE IF NOT EXISTS ${ident(table)} (${cols})`);
    },
    setScope() {
      // Each statement autocommits: a killed request left either all of a statement or nothing.
    },
    async close() {
      lease.release();
    },
  };
}
