import { wellFormed } from '../normalize/parse-json.ts';
import {
  type ColumnSchema,
  type FailedEvent,
  type LoadMeta,
  type LoadRecord,
  TABLES,
} from './destination.ts';

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
    { name: 'reason', type: 'STRING' },
    /** Lines of suppressed people dropped by the loader (privacy); NULL in rows written before it existed. */
    { name: 'suppressed', type: 'INT64' },
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
  /** Failed attempts per load key, for quarantine (`LoadAttempts`); one row per key. */
  [TABLES.loadAttempts]: [
    { name: 'load_key', type: 'STRING' },
    { name: 'attempts', type: 'INT64' },
    { name: 'last_code', type: 'STRING' },
    { name: 'last_reason', type: 'STRING' },
    { name: 'updated_at', type: 'TIMESTAMP' },
  ],
};

/** Columns written on every warehouse row (event tables, child tables, users). */
export const ROW_META_COLUMNS = {
  loadedAt: 'loaded_at',
  loadId: '_sluice_load_id',
} as const;

/**
 * A failed event's own columns in `TABLES.failedEvents` (the load's columns and `loaded_at` come from the load).
 * Text is made well-formed Unicode here, for every destination: a reason or a cut raw line may end in half a
 * surrogate pair (V8's JSON.parse message quotes the line; `raw` is cut at a length), which DuckDB and BigQuery
 * reject, and a rejected failed event would block the file's load.
 */
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
    event_id: f.eventId === null ? null : wellFormed(f.eventId),
    error_code: f.code,
    reason: wellFormed(f.reason),
    raw_line: f.raw === null ? null : wellFormed(f.raw),
    raw_truncated: f.rawTruncated,
  };
}

/**
 * The loads row of a quarantined file: its identity, the reason (well-formed, like failed-event text: a reason
 * quoting a cut surrogate pair must not fail the write), zero counts. Both destinations write this record.
 */
export function quarantinedRecord(meta: LoadMeta, reason: string, finishedAt: Date): LoadRecord {
  return {
    loadId: meta.loadId,
    loadKey: meta.loadKey,
    bucket: meta.bucket,
    name: meta.name,
    generation: meta.generation,
    status: 'quarantined',
    reason: wellFormed(reason),
    startedAt: meta.startedAt,
    finishedAt,
    linesRead: 0,
    bytesRead: 0,
    eventsLoaded: 0,
    duplicates: 0,
    failed: 0,
    valuesDiscarded: 0,
    suppressed: 0,
    rowsWritten: 0,
    schemaChanges: [],
  };
}
