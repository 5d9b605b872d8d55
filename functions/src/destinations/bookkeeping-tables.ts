import { type ColumnSchema, type FailedEvent, TABLES } from './destination.ts';

/**
 * Fixed schemas of the bookkeeping tables. Every destination creates them on first use (idempotently) with these
 * columns, mapped through its `typeMap`. Shared so that both implementations write identical layouts.
 */
export const BOOKKEEPING_SCHEMAS: Readonly<Record<string, readonly ColumnSchema[]>> = {
  [TABLES.loads]: [
    { name: 'load_id', type: 'STRING' },
    { name: 'load_key', type: 'STRING' },
    { name: 'bucket', type: 'STRING' },
    { name: 'name', type: 'STRING' },
    { name: 'generation', type: 'STRING' },
    { name: 'status', type: 'STRING' },
    { name: 'started_at', type: 'TIMESTAMP' },
    { name: 'finished_at', type: 'TIMESTAMP' },
    { name: 'duration_ms', type: 'INT64' },
    { name: 'lines_read', type: 'INT64' },
    { name: 'bytes_read', type: 'INT64' },
    { name: 'events_loaded', type: 'INT64' },
    { name: 'duplicates', type: 'INT64' },
    { name: 'failed', type: 'INT64' },
    { name: 'values_discarded', type: 'INT64' },
    { name: 'rows_written', type: 'INT64' },
    { name: 'schema_changes', type: 'JSON' },
    { name: 'loaded_at', type: 'TIMESTAMP' },
  ],
  [TABLES.failedEvents]: [
    { name: 'load_id', type: 'STRING' },
    { name: 'load_key', type: 'STRING' },
    { name: 'bucket', type: 'STRING' },
    { name: 'name', type: 'STRING' },
    { name: 'generation', type: 'STRING' },
    { name: 'line', type: 'INT64' },
    { name: 'event_id', type: 'STRING' },
    { name: 'error_code', type: 'STRING' },
    { name: 'reason', type: 'STRING' },
    { name: 'raw_line', type: 'STRING' },
    { name: 'raw_truncated', type: 'BOOL' },
    { name: 'loaded_at', type: 'TIMESTAMP' },
  ],
  [TABLES.schemaChanges]: [
    { name: 'load_id', type: 'STRING' },
    { name: 'table_name', type: 'STRING' },
    { name: 'column_name', type: 'STRING' },
    { name: 'change', type: 'STRING' },
    { name: 'from_type', type: 'STRING' },
    { name: 'to_type', type: 'STRING' },
    { name: 'changed_at', type: 'TIMESTAMP' },
  ],
  [TABLES.eventIds]: [
    { name: 'id', type: 'STRING' },
    { name: 'received_at', type: 'TIMESTAMP' },
    { name: 'load_id', type: 'STRING' },
  ],
};

/** Columns written on every warehouse row (event tables, child tables, users). */
export const ROW_META_COLUMNS = {
  loadedAt: 'loaded_at',
  loadId: '_sluice_load_id',
} as const;

/** A failed event's own columns in `TABLES.failedEvents` (the load's columns and `loaded_at` come from the load). */
export function failedEventColumns(f: FailedEvent): {
  line: number;
  event_id: string | null;
  error_code: string;
  reason: string;
  raw_line: string | null;
  raw_truncated: boolean;
} {
  return {
    line: f.line,
    event_id: f.eventId,
    error_code: f.code,
    reason: f.reason,
    raw_line: f.raw,
    raw_truncated: f.rawTruncated,
  };
}
