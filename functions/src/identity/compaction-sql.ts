import { EDGE_COLUMNS, IDENTITY_TABLES } from './tables.ts';

/** How a store names its tables and parameters (the SQL below is the same text on BigQuery and DuckDB). */
export interface SqlDialect {
  table: (name: string) => string;
  /** A STRING parameter (cast where a TIMESTAMP is meant). */
  param: (name: string) => string;
  /** The zoned timestamp type's name (BigQuery `TIMESTAMP`, DuckDB `TIMESTAMPTZ`). */
  timestamp: string;
}

/** The log rows of a slice: a load's (`load_id`), or those loaded in `[since, through]` (`since` omitted: all). */
export function sliceWhere(
  d: SqlDialect,
  slice: { loadId: string } | { from: string | null; through?: string },
): string {
  if ('loadId' in slice) return `_sluice_load_id = ${d.param('load_id')}`;
  const parts = ['TRUE'];
  if (slice.from !== null) parts.push(`loaded_at >= CAST(${d.param('since')} AS ${d.timestamp})`);
  if (slice.through !== undefined) parts.push(`loaded_at <= CAST(${d.param('through')} AS ${d.timestamp})`);
  return parts.join(' AND ');
}

/** The parameters `sliceWhere` names, as strings. */
export function sliceParams(
  slice: { loadId: string } | { from: string | null; through?: string },
): Record<string, string> {
  if ('loadId' in slice) return { load_id: slice.loadId };
  const out: Record<string, string> = {};
  if (slice.from !== null) out.since = slice.from;
  if (slice.through !== undefined) out.through = slice.through;
  return out;
}

const LINK = "a_type, a_value, b_type, b_value, kind = 'alias'";

/**
 * The compaction rule in SQL (the same as `compactLog`): per link of the slice, its first event in the canonical
 * order (event time, event id, ordinal) and its latest event time, merged into `identity_edges`: a new link is
 * inserted; a known one keeps the earlier first event and the later `last_seen`. Idempotent (merging the same rows
 * again changes nothing), so a re-run after a crash, or an overlapping slice, is harmless.
 */
export function compactionSql(d: SqlDialect, where: string): string {
  const edges = d.table(IDENTITY_TABLES.edges);
  const log = d.table(IDENTITY_TABLES.edgeLog);
  const cols = EDGE_COLUMNS.map((c) => c.name);
  const earlier = `(s.first_seen < e.first_seen OR (s.first_seen = e.first_seen AND (s.event_id < e.event_id
    OR (s.event_id = e.event_id AND s.ordinal < e.ordinal))))`;
  const firstFields = ['kind', 'event_id', 'event_table', 'ordinal', 'first_seen'];
  return `MERGE INTO ${edges} e
USING (
  SELECT a_type, a_value, b_type, b_value, kind, event_id, event_table, ordinal, event_at AS first_seen,
    MAX(event_at) OVER (PARTITION BY ${LINK}) AS last_seen
  FROM ${log}
  WHERE ${where}
  QUALIFY ROW_NUMBER() OVER (PARTITION BY ${LINK} ORDER BY event_at, event_id, ordinal) = 1
) s
ON e.a_type = s.a_type AND e.a_value = s.a_value AND e.b_type = s.b_type AND e.b_value = s.b_value
  AND (e.kind = 'alias') = (s.kind = 'alias')
WHEN MATCHED THEN UPDATE SET
  ${firstFields.map((f) => `${f} = CASE WHEN ${earlier} THEN s.${f} ELSE e.${f} END`).join(',\n  ')},
  last_seen = CASE WHEN s.last_seen > e.last_seen THEN s.last_seen ELSE e.last_seen END
WHEN NOT MATCHED THEN INSERT (${cols.join(', ')}) VALUES (${cols.map((c) => `s.${c}`).join(', ')})`;
}

/** The ids a slice's log rows link, with the latest `loaded_at` among them. */
export function logIdsSql(d: SqlDialect, where: string): string {
  return `SELECT a_type, a_value, b_type, b_value, CAST(MAX(loaded_at) AS STRING) AS through
FROM ${d.table(IDENTITY_TABLES.edgeLog)} WHERE ${where} GROUP BY a_type, a_value, b_type, b_value`;
}
