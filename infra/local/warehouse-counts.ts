import { existsSync } from 'node:fs';
import { queryWarehouse } from './warehouse-query.ts';

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;
const literal = (value: string): string => `'${value.replaceAll("'", "''")}'`;

/**
 * Rows per warehouse table whose `id` starts with `idPrefix` (tables without an `id` column, such as child
 * tables, and bookkeeping tables, named `_...`, are skipped). Keys are `table` (or `schema.table` outside `main`). Empty before any load.
 */
export async function countRowsByIdPrefix(
  duckdbPath: string,
  idPrefix: string,
): Promise<Record<string, number>> {
  if (!existsSync(duckdbPath)) return {};
  const tables = await queryWarehouse(
    duckdbPath,
    "SELECT table_schema, table_name FROM information_schema.columns WHERE column_name = 'id' " +
      "AND NOT starts_with(table_name, '_') ORDER BY table_schema, table_name",
  );
  if (tables.rows.length === 0) return {};
  const union = tables.rows
    .map(([schema, table]) => {
      const key = schema === 'main' ? String(table) : `${String(schema)}.${String(table)}`;
      return (
        `SELECT ${literal(key)} AS t, count(*) AS n FROM ${quote(String(schema))}.${quote(String(table))} ` +
        `WHERE starts_with(CAST(id AS VARCHAR), ${literal(idPrefix)})`
      );
    })
    .join(' UNION ALL ');
  const result = await queryWarehouse(duckdbPath, union);
  return Object.fromEntries(result.rows.map(([t, n]) => [String(t), Number(n)]));
}
