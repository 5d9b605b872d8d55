import { SQL_RESERVED_COLUMN_PREFIXES, SQL_RESERVED_WORDS } from '../../naming/sql-reserved-words.ts';
import type { DestinationCapabilities } from '../destination.ts';

/**
 * BigQuery as data: 300-character column names, case-insensitive names, reserved column-name prefixes (rejected
 * even when quoted), GoogleSQL types, in-place INT64 -> FLOAT64 widening (`ALTER COLUMN SET DATA TYPE`), 10,000
 * columns per table.
 */
export const BIGQUERY_CAPABILITIES: DestinationCapabilities = {
  name: 'bigquery',
  maxColumnNameLength: 300,
  maxTableNameLength: 1024,
  caseInsensitiveNames: true,
  reservedWords: SQL_RESERVED_WORDS,
  reservedColumnPrefixes: SQL_RESERVED_COLUMN_PREFIXES,
  typeMap: {
    BOOL: 'BOOL',
    INT64: 'INT64',
    FLOAT64: 'FLOAT64',
    STRING: 'STRING',
    TIMESTAMP: 'TIMESTAMP',
    JSON: 'JSON',
  },
  canWidenIntToFloat: true,
  maxColumns: 10_000,
};
