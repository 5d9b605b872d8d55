import type { DuckDBValue } from '@duckdb/node-api';

/** BigQuery TableFieldSchema (the subset Sluice uses). */
export interface FakeField {
  name: string;
  type: string;
  mode?: string;
  description?: string;
}

/** An error the fake reports in a job's errorResult or as an HTTP error. */
export class FakeBigQueryError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const RESERVED_PREFIXES = ['_table_', '_file_', '_partition', '_row_timestamp', '__root__', '_colidentifier'];

export function checkFieldNames(fields: FakeField[]): void {
  const seen = new Set<string>();
  for (const field of fields) {
    const lower = field.name.toLowerCase();
    if (field.name.length > 300 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(field.name)) {
      throw new FakeBigQueryError('invalid', `Invalid field name "${field.name}".`);
    }
    if (RESERVED_PREFIXES.some((p) => lower.startsWith(p))) {
      throw new FakeBigQueryError('invalid', `Invalid field name "${field.name}": reserved prefix.`);
    }
    if (seen.has(lower))
      throw new FakeBigQueryError('invalid', `Duplicate field name ${field.name} (case-insensitive).`);
    seen.add(lower);
  }
}

export function encodeForLoad(field: FakeField, value: unknown, row: number): string | null {
  if (value === null || value === undefined) return null;
  const fail = (): never => {
    throw new FakeBigQueryError(
      'invalid',
      `Error while reading data, error message: JSON table encountered too many errors. Row ${row}: Could not convert value to ${field.type} for field ${field.name}.`,
    );
  };
  switch (field.type) {
    case 'STRING':
      return typeof value === 'string' ? value : fail();
    case 'INT64':
    case 'INTEGER':
      if (typeof value === 'number' && Number.isInteger(value)) return String(value);
      if (typeof value === 'string' && /^-?\d+$/.test(value)) return value;
      return fail();
    case 'FLOAT64':
    case 'FLOAT':
      if (typeof value === 'number') return String(value);
      if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return value;
      return fail();
    case 'BOOL':
    case 'BOOLEAN':
      return typeof value === 'boolean' ? String(value) : fail();
    case 'TIMESTAMP':
      if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return value;
      return fail();
    case 'JSON':
      return JSON.stringify(value);
    default:
      return typeof value === 'string' ? value : JSON.stringify(value);
  }
}

export function bigQueryType(duck: string): string {
  const t = duck.toUpperCase();
  if (t === 'BIGINT' || t === 'INTEGER' || t === 'HUGEINT') return 'INT64';
  if (t === 'DOUBLE' || t === 'FLOAT') return 'FLOAT64';
  if (t === 'BOOLEAN') return 'BOOL';
  if (t.startsWith('TIMESTAMP')) return 'TIMESTAMP';
  if (t.startsWith('DECIMAL')) return 'NUMERIC';
  if (t === 'DATE') return 'DATE';
  return 'STRING';
}

/** REST encodings: INT64 as decimal string, TIMESTAMP as int64 microseconds (useInt64Timestamp), BOOL as text. */
export function encodeForResult(value: DuckDBValue): string | null {
  if (value === null) return null;
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && 'micros' in value) return String((value as { micros: bigint }).micros);
  return String(value);
}

/** Splits a script on top-level `;` (outside quotes, backticks and comments); drops empty statements. */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let current = '';
  let quote: string | undefined;
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i]!;
    if (quote) {
      current += ch;
      if (ch === '\\') {
        current += sql[i + 1] ?? '';
        i++;
      } else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === "'" || ch === '"' || ch === '`') {
      quote = ch;
      current += ch;
    } else if (ch === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end;
      current += '\n';
    } else if (ch === ';') {
      if (current.trim()) out.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

const qi = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** The `dataset.table` (lower case) a DML statement writes: `INSERT INTO`, `UPDATE`, `DELETE FROM`, `MERGE INTO`. */
export function dmlTarget(statement: string): string | undefined {
  const m = /^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|MERGE\s+INTO)\s+`([^`]+)`/i.exec(statement);
  if (!m) return undefined;
  const parts = m[1]!.split('.');
  return parts.length >= 2 ? `${parts.at(-2)}.${parts.at(-1)!.toLowerCase()}` : undefined;
}

/** BigQuery SQL -> DuckDB SQL (mechanical; see the engine's class comment for what this does not prove). */
export function translate(sql: string): {
  translated: string[];
  referenced: Set<string>;
  statementType: string;
} {
  const referenced = new Set<string>();
  let translated = sql.replace(/`([^`]+)`/g, (_m, inner: string) => {
    const parts = inner.split('.');
    if (parts.length >= 2) {
      const tableId = parts.at(-1)!.toLowerCase();
      const datasetId = parts.at(-2)!;
      referenced.add(`${datasetId}.${tableId}`);
      return `${qi(datasetId)}.${qi(tableId)}`;
    }
    return qi(inner.toLowerCase());
  });
  translated = translated
    .replace(/\bINT64\b/g, 'BIGINT')
    .replace(/\bFLOAT64\b/g, 'DOUBLE')
    .replace(/\bBOOL\b/g, 'BOOLEAN')
    .replace(/\bSTRING\b/g, 'VARCHAR')
    .replace(/\bTIMESTAMP\b(?!\s*\()/g, 'TIMESTAMPTZ')
    .replace(/\bJSON\b(?!\s*\()/g, 'VARCHAR')
    .replace(/@(\w+)/g, (_m, name: string) => `$${name}`);
  const head = sql
    .replace(/^\s*(--[^\n]*\n\s*)*/, '')
    .trimStart()
    .toUpperCase();
  const statementType = head.startsWith('MERGE')
    ? 'MERGE'
    : head.startsWith('SELECT') || head.startsWith('WITH')
      ? 'SELECT'
      : head.startsWith('INSERT')
        ? 'INSERT'
        : head.startsWith('DELETE')
          ? 'DELETE'
          : head.startsWith('UPDATE')
            ? 'UPDATE'
            : head.startsWith('ALTER TABLE')
              ? 'ALTER_TABLE'
              : head.startsWith('DROP TABLE')
                ? 'DROP_TABLE'
                : head.startsWith('CREATE')
                  ? 'CREATE_TABLE'
                  : 'SCRIPT';
  // BigQuery takes several ADD COLUMN clauses in one ALTER TABLE; DuckDB one per statement.
  const alter = /^\s*ALTER TABLE (\S+\.\S+) (ADD COLUMN [\s\S]*)$/i.exec(translated);
  const parts = alter
    ? alter[2]!.split(/,\s*(?=ADD COLUMN)/i).map((clause) => `ALTER TABLE ${alter[1]} ${clause}`)
    : [translated];
  return { translated: parts, referenced, statementType };
}
