import { upsertTableNamed } from '../../schema/upsert-tables.ts';
import type { ColumnSchema, LogicalType } from '../destination.ts';
import { TABLES } from '../destination.ts';
import { BIGQUERY_CAPABILITIES } from './capabilities.ts';

/** A BigQuery TableFieldSchema. */
export interface BigQueryField {
  name: string;
  type: string;
  mode: 'NULLABLE';
}

export interface TableLayout {
  timePartitioning?: { type: 'DAY'; field: string; expirationMs?: string };
  clustering?: { fields: string[] };
}

/** Columns each staged row carries besides the table's own, for de-duplication at commit. */
export const STAGE_COLUMNS = {
  eventId: '_sluice_stage_event_id',
  line: '_sluice_stage_line',
  receivedAt: '_sluice_stage_received_at',
  /** received_at minus the look-back window: an index entry at or after it makes this event a duplicate. */
  dedupFrom: '_sluice_stage_dedup_from',
} as const;

export const STAGE_FIELDS: BigQueryField[] = [
  { name: STAGE_COLUMNS.eventId, type: 'STRING', mode: 'NULLABLE' },
  { name: STAGE_COLUMNS.line, type: 'INT64', mode: 'NULLABLE' },
  { name: STAGE_COLUMNS.receivedAt, type: 'TIMESTAMP', mode: 'NULLABLE' },
  { name: STAGE_COLUMNS.dedupFrom, type: 'TIMESTAMP', mode: 'NULLABLE' },
];

/** Staging tables live next to the targets, hidden from `readSchema` by this prefix, and expire by themselves. */
export const STAGING_TABLE_PREFIX = '_sluice_stage_';

export function toFields(columns: readonly ColumnSchema[]): BigQueryField[] {
  return columns.map((c) => ({
    name: c.name,
    type: BIGQUERY_CAPABILITIES.typeMap[c.type],
    mode: 'NULLABLE',
  }));
}

export function fromFieldType(type: string): LogicalType | undefined {
  switch (type.toUpperCase()) {
    case 'BOOL':
    case 'BOOLEAN':
      return 'BOOL';
    case 'INT64':
    case 'INTEGER':
      return 'INT64';
    case 'FLOAT64':
    case 'FLOAT':
      return 'FLOAT64';
    case 'STRING':
      return 'STRING';
    case 'TIMESTAMP':
      return 'TIMESTAMP';
    case 'JSON':
      return 'JSON';
    default:
      return undefined;
  }
}

/** Columns analysts and dbt models filter by, in clustering priority order (BigQuery allows four). */
const CLUSTER_PREFERENCE = ['event', 'user_id', 'anonymous_id'];

/**
 * Partitioning and clustering, as data:
 * - event tables (they have a `timestamp` TIMESTAMP column): partitioned by DAY on `timestamp` — the column
 *   analysts filter on (`WHERE timestamp >= ...`), so their queries prune partitions; clustered on
 *   `event`, `user_id`, `anonymous_id` where present (funnels, per-user timelines);
 * - child tables and other tables with `loaded_at`: partitioned on `loaded_at`;
 * - the upsert tables (`users`, `accounts`): clustered on their key `id` (one row per user / group, not
 *   time-shaped);
 * - the event-id index: partitioned on `received_at` (the de-duplication look-back filter), clustered on `id`;
 * - loads: partitioned on `loaded_at`, clustered on `load_key` (the idempotency lookup); failed events:
 *   partitioned on `loaded_at`.
 */
export function layoutFor(table: string, columns: readonly ColumnSchema[]): TableLayout {
  const has = (name: string, type?: LogicalType): boolean =>
    columns.some((c) => c.name === name && (type === undefined || c.type === type));
  if (table === TABLES.eventIds) {
    return { timePartitioning: { type: 'DAY', field: 'received_at' }, clustering: { fields: ['id'] } };
  }
  // Partitioned so that its one load job per file counts against 30,000 partition modifications per day, not
  // 1,500 load jobs per table per day (https://cloud.google.com/bigquery/docs/optimize-load-jobs).
  if (table === TABLES.loads) {
    return { timePartitioning: { type: 'DAY', field: 'loaded_at' }, clustering: { fields: ['load_key'] } };
  }
  const upsert = upsertTableNamed(table);
  if (upsert !== undefined) return has(upsert.key) ? { clustering: { fields: [upsert.key] } } : {};
  if (table === TABLES.schemaChanges) return {};
  const layout: TableLayout = {};
  if (has('timestamp', 'TIMESTAMP')) layout.timePartitioning = { type: 'DAY', field: 'timestamp' };
  else if (has('loaded_at', 'TIMESTAMP')) layout.timePartitioning = { type: 'DAY', field: 'loaded_at' };
  const cluster = CLUSTER_PREFERENCE.filter((name) => has(name, 'STRING'));
  if (table === TABLES.failedEvents) cluster.push('error_code');
  if (cluster.length > 0) layout.clustering = { fields: cluster.slice(0, 4) };
  return layout;
}
