import type { ColumnSchema } from '../destinations/destination.ts';
import type { IdentityStore } from '../identity/upkeep.ts';

/** Named sets of strings a statement reads (`sets`) and named scalar strings (`values`): always parameters. */
export interface StatementParams {
  sets?: Readonly<Record<string, readonly string[]>>;
  values?: Readonly<Record<string, string | null>>;
}

export interface ExecResult {
  /** Rows deleted / updated / inserted by the statement. */
  affected: number;
  /** On-demand bytes billed (BigQuery; 0 on DuckDB). */
  bytesBilled: bigint;
}

/**
 * What the privacy engine needs of a warehouse, on both destinations: the tables and their columns, statements
 * with parameters only (an id never becomes SQL text), and the SQL spelling of names and parameters. Opened
 * through the destination's own connection machinery (DuckDB: `DuckDBInstances`, the file held for the
 * request; BigQuery: the destination's job runner and retry policy).
 */
export interface PrivacyWarehouse {
  readonly dialect: Dialect;
  /** Every table (staging tables excluded) -> its lower-case column names. */
  tables(): Promise<Map<string, Set<string>>>;
  select(sql: string, params?: StatementParams): Promise<Record<string, unknown>[]>;
  exec(sql: string, params?: StatementParams): Promise<ExecResult>;
  /** Creates the table with these columns unless it exists. */
  ensureTable(table: string, columns: readonly ColumnSchema[]): Promise<void>;
  /**
   * Scopes what follows to one request (BigQuery: job ids derived from the request id and the statement, so a
   * re-run after a kill finds the jobs it ran instead of running them twice; DuckDB: nothing to do, a statement
   * either committed or left no trace).
   */
  setScope(requestId: string): void;
  /** The identity graph's tables on this warehouse (functions/src/identity), erased through its own rule. */
  identityStore(): IdentityStore;
  close(): Promise<void>;
}

export interface Dialect {
  /** A table reference. */
  table(name: string): string;
  /** A quoted column name. */
  column(name: string): string;
  /** A subquery yielding the set parameter `name` as one column `v`. */
  set(name: string): string;
  /** A scalar string parameter. */
  value(name: string): string;
  /** `haystack` contains `needle` (both SQL expressions). */
  contains(haystack: string, needle: string): string;
  /** An expression turning a TIMESTAMP parameter text into a TIMESTAMP. */
  timestamp(expr: string): string;
  /** An expression turning a decimal text parameter into INT64. */
  int(expr: string): string;
  /** An expression turning a JSON text parameter into the JSON type. */
  json(expr: string): string;
  /**
   * The UTC day (`YYYY-MM-DD` text) of a TIMESTAMP expression, where the warehouse partitions tables by day and
   * bills by the partitions a statement scans (BigQuery); absent where pruning saves nothing (DuckDB).
   */
  day?: (expr: string) => string;
}
