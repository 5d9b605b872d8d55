import { SQL_RESERVED_COLUMN_PREFIXES, SQL_RESERVED_WORDS } from '../../naming/sql-reserved-words.ts';
import type { DestinationCapabilities } from '../destination.ts';
import { DUCKDB_TYPES } from './sql.ts';

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
