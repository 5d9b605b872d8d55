import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { FakeField } from './fake-bigquery-values.ts';

/**
 * Bytes a statement processes in one table it references, with partition pruning, as the docs define them:
 *
 * - "If a query uses a qualifying filter on the value of the partitioning column, BigQuery can scan the partitions
 *   that match the filter and skip the remaining partitions ... The pruned partitions are not included when
 *   calculating the bytes scanned" (https://cloud.google.com/bigquery/docs/querying-partitioned-tables).
 * - DML on a partitioned table bills q' + t': "q' = the sum of bytes processed by the DML statement itself,
 *   including any columns referenced in all partitions scanned by the DML statement; t' = the total size of all
 *   partitions being updated by the statement" (UPDATE, DELETE, MERGE with an update or delete clause;
 *   https://cloud.google.com/bigquery/docs/reference/standard-sql/dml-syntax#on-demand_query_size_calculation).
 *   Non-partitioned: q + t, t = the whole table.
 *
 * The filter the fake recognizes is the one Sluice emits (and the docs prune on: the partitioning column alone,
 * compared with constants): a top-level conjunct `AND (<col> >= CAST(@lo AS TIMESTAMP) AND <col> <
 * CAST(@hi AS TIMESTAMP) OR ... [OR <col> IS NULL])`, the parameters being query parameters. Anything else
 * scans every partition. A column's bytes are its values' text length (the fake's size model); t' is the size
 * of the partitions the filter selects (the partitions being updated when the filter names exactly those, as
 * the privacy engine's does). The 10 MB minimum per table is applied by the engine.
 */
export interface PrunableTable {
  datasetId: string;
  tableId: string;
  resource: Record<string, unknown>;
  fields: FakeField[];
}

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;
const quoteText = (text: string): string => `'${text.replaceAll("'", "''")}'`;

/** The partition ranges of a statement's constant filter on `field`, as DuckDB SQL; undefined: none. */
export function partitionFilter(
  statement: string,
  field: string,
  params: Record<string, DuckDBValue>,
): string | undefined {
  const col = `\`?${field}\`?`;
  const range = `${col}\\s*>=\\s*CAST\\(@(\\w+) AS TIMESTAMP\\)\\s+AND\\s+${col}\\s*<\\s*CAST\\(@(\\w+) AS TIMESTAMP\\)`;
  const conjunct = new RegExp(
    `\\)\\s+AND\\s+\\(((?:\\(${range}\\)|${col}\\s+IS\\s+NULL)(?:\\s+OR\\s+(?:\\(${range}\\)|${col}\\s+IS\\s+NULL))*)\\)\\s*$`,
    'i',
  );
  const found = conjunct.exec(statement.trim());
  if (!found) return undefined;
  const parts: string[] = [];
  const c = quoteIdent(field.toLowerCase());
  for (const m of found[1]!.matchAll(new RegExp(`\\(${range}\\)|(${col}\\s+IS\\s+NULL)`, 'gi'))) {
    if (m[3]) {
      parts.push(`${c} IS NULL`);
      continue;
    }
    const lo = params[m[1]!];
    const hi = params[m[2]!];
    if (typeof lo !== 'string' || typeof hi !== 'string') return undefined;
    parts.push(
      `(${c} >= CAST(${quoteText(lo)} AS TIMESTAMPTZ) AND ${c} < CAST(${quoteText(hi)} AS TIMESTAMPTZ))`,
    );
  }
  return parts.length > 0 ? parts.join(' OR ') : undefined;
}

/** The table's columns a statement names (backticked or as words); all of them for `*`. */
function referencedColumns(statement: string, fields: readonly FakeField[]): string[] {
  if (/SELECT\s+\*|\.\*/i.test(statement)) return fields.map((f) => f.name.toLowerCase());
  const words = new Set((statement.toLowerCase().match(/[a-z_][a-z0-9_]*/g) ?? []) as string[]);
  return fields.map((f) => f.name.toLowerCase()).filter((name) => words.has(name));
}

/** q' (+ t' for a mutating DML on this table) for one referenced table. */
export async function prunedBytes(
  db: DuckDBConnection,
  table: PrunableTable,
  statement: string,
  params: Record<string, DuckDBValue>,
  mutates: boolean,
): Promise<number> {
  const name = `${quoteIdent(table.datasetId)}.${quoteIdent(table.tableId.toLowerCase())}`;
  const field = (table.resource.timePartitioning as { field?: string } | undefined)?.field;
  const filter = field ? partitionFilter(statement, field, params) : undefined;
  const where = filter ? ` WHERE ${filter}` : '';
  const sizeOf = (cols: readonly string[]): string =>
    cols.length === 0
      ? '0'
      : cols.map((c) => `coalesce(sum(length(CAST(${quoteIdent(c)} AS VARCHAR))), 0)`).join(' + ');
  const all = table.fields.map((f) => f.name.toLowerCase());
  const q = sizeOf(referencedColumns(statement, table.fields));
  const t = mutates ? sizeOf(all) : '0';
  const reader = await db.runAndReadAll(`SELECT (${q}) + (${t}) FROM ${name}${where}`);
  return Number(reader.getRows()[0]?.[0] ?? 0);
}
