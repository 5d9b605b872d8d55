/**
 * The warehouse model: the types every layer of the loader speaks (logical column types, cells, the schema and
 * its changes, a destination's capabilities, a failed event). A leaf module: it imports nothing, and `naming/`,
 * `schema/`, `normalize/` and `destinations/` all import it (downward arrows only; see `import-graph.test.ts`).
 */

/** The logical column types the loader infers. */
export const LOGICAL_TYPES = ['BOOL', 'INT64', 'FLOAT64', 'STRING', 'TIMESTAMP', 'JSON'] as const;
export type LogicalType = (typeof LOGICAL_TYPES)[number];

/**
 * A cell as the loader hands it over, by the column's logical type:
 * BOOL boolean · INT64 number (safe integer) or bigint (beyond +-2^53; never a lossy number) · FLOAT64 number ·
 * STRING string · TIMESTAMP string (RFC 3339, validated) · JSON string (JSON text). `null` for SQL NULL.
 */
export type CellValue = null | boolean | number | bigint | string;

/** Capabilities and limits of a destination, as data. The naming and schema rules read them; nothing else. */
export interface DestinationCapabilities {
  /** Destination name, for logs and load records (`duckdb`, `bigquery`). */
  name: string;
  /** Maximum length of a column name, in characters (BigQuery 300). */
  maxColumnNameLength: number;
  /** Maximum length of a table name, in characters (BigQuery 1024). */
  maxTableNameLength: number;
  /** Column/table names compare case-insensitively (BigQuery: `Plan` and `plan` are one column). */
  caseInsensitiveNames: boolean;
  /** Lower-case words that may not be used bare as identifiers; the naming rules append `_`. */
  reservedWords: readonly string[];
  /** Lower-case prefixes a column name may not start with even when quoted (BigQuery `_table_`, `_file_` ...). */
  reservedColumnPrefixes: readonly string[];
  /** The SQL type each logical type maps to. */
  typeMap: Readonly<Record<LogicalType, string>>;
  /** An INT64 column can be altered in place to FLOAT64 (both BigQuery and DuckDB can). */
  canWidenIntToFloat: boolean;
  /** Hard maximum columns per table (BigQuery 10,000). The loader's budget is min(config, this). */
  maxColumns: number;
}

export interface ColumnSchema {
  name: string;
  type: LogicalType;
}

/** Current schema: table name -> column name -> logical type. Names as stored (lower case for Sluice tables). */
export type WarehouseSchema = Map<string, Map<string, LogicalType>>;

export type SchemaChange =
  | { kind: 'create_table'; table: string; columns: ColumnSchema[]; primaryKey?: string }
  | { kind: 'add_column'; table: string; column: string; type: LogicalType }
  | { kind: 'widen_column'; table: string; column: string; from: 'INT64'; to: 'FLOAT64' };

/** A line that could not be loaded; written to `TABLES.failedEvents`. */
export interface FailedEvent {
  /** 1-based line number in the file. */
  line: number;
  /** The raw line (possibly truncated to `rawTruncated`), or null when a contract says not to keep it. */
  raw: string | null;
  rawTruncated: boolean;
  /** An error code from the loader's registry (`SLUICE_ERR_LOAD_*`). */
  code: string;
  /** Human-readable detail (never the event body). */
  reason: string;
  /** The event id when it could be read. */
  eventId: string | null;
}
