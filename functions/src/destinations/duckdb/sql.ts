import type { LogicalType } from '../destination.ts';

/** A DuckDB string literal. */
export function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** A quoted DuckDB identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export const DUCKDB_TYPES: Readonly<Record<LogicalType, string>> = {
  BOOL: 'BOOLEAN',
  INT64: 'BIGINT',
  FLOAT64: 'DOUBLE',
  STRING: 'VARCHAR',
  TIMESTAMP: 'TIMESTAMPTZ',
  JSON: 'JSON',
};

/** Staging keeps TIMESTAMP and JSON as text and casts on commit (the loader validated both). */
export const STAGE_TYPES: Readonly<Record<LogicalType, string>> = {
  ...DUCKDB_TYPES,
  TIMESTAMP: 'VARCHAR',
  JSON: 'VARCHAR',
};

/** information_schema data_type -> logical type (undefined for types Sluice does not create). */
export function logicalTypeOf(dataType: string): LogicalType | undefined {
  switch (dataType.toUpperCase()) {
    case 'BOOLEAN':
      return 'BOOL';
    case 'BIGINT':
    case 'INTEGER':
    case 'HUGEINT':
      return 'INT64';
    case 'DOUBLE':
    case 'FLOAT':
      return 'FLOAT64';
    case 'VARCHAR':
      return 'STRING';
    case 'TIMESTAMP WITH TIME ZONE':
    case 'TIMESTAMP':
      return 'TIMESTAMP';
    case 'JSON':
      return 'JSON';
    default:
      return undefined;
  }
}

/** `CAST(<staged> AS <type>)` where staging differs from the table's type. */
export function castFromStage(column: string, type: LogicalType, alias?: string): string {
  // Qualified by the stage's alias when it has one: DuckDB binds a bare name that is also the alias (a trait `s`)
  // to the alias's whole row, a struct, in some positions (an aggregate's argument, a cast).
  const ref = alias === undefined ? ident(column) : `${alias}.${ident(column)}`;
  return type === 'TIMESTAMP' || type === 'JSON' ? `CAST(${ref} AS ${DUCKDB_TYPES[type]})` : ref;
}
