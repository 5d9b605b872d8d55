import type { Dialect } from './warehouse.ts';

/**
 * A constant filter on the partitioning column selecting exactly `days` (contiguous days merged into one range):
 * `(<col> >= @lo AND <col> < @hi) OR ... [OR <col> IS NULL]`, the form BigQuery prunes partitions on (the
 * partitioning column alone compared with constants, https://cloud.google.com/bigquery/docs/querying-partitioned-tables;
 * DML bills the scanned partitions only, https://cloud.google.com/bigquery/docs/using-dml-with-partitioned-tables).
 */
export function partitionFilter(
  d: Dialect,
  column: string,
  days: readonly (string | null)[],
): { sql: string; values: Record<string, string> } {
  const c = d.column(column);
  const parts: string[] = [];
  const values: Record<string, string> = {};
  const dated = [...new Set(days.filter((x): x is string => x !== null))].sort();
  const next = (day: string): string =>
    new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  for (let i = 0; i < dated.length; ) {
    let j = i;
    while (j + 1 < dated.length && dated[j + 1] === next(dated[j]!)) j++;
    const k = parts.length;
    values[`p_lo${k}`] = `${dated[i]}T00:00:00Z`;
    values[`p_hi${k}`] = `${next(dated[j]!)}T00:00:00Z`;
    parts.push(
      `(${c} >= ${d.timestamp(d.value(`p_lo${k}`))} AND ${c} < ${d.timestamp(d.value(`p_hi${k}`))})`,
    );
    i = j + 1;
  }
  if (days.includes(null)) parts.push(`${c} IS NULL`);
  return { sql: parts.length === 0 ? 'FALSE' : parts.join(' OR '), values };
}
