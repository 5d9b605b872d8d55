import type { CellValue, LoadMeta, LoadSummary, SchemaChange } from '../destination.ts';
import type { Attempt } from './attempt-record.ts';
import type { JobResult } from './job-runner.ts';

export interface LoadsRowInput {
  meta: LoadMeta;
  attempt: Attempt;
  summary: LoadSummary;
  eventsLoaded: number;
  rowsWritten: number;
  loadedAt: Date;
  /** The jobs this load ran or found (query jobs carry the bytes billed). */
  jobs: readonly JobResult[];
}

/**
 * The loads row: the shared columns, plus `bytes_billed` / `bytes_processed` (the sum over the load's query jobs,
 * findLoad included: what the project is charged for this file) and `job_ids` (every job, for `jobs.get`).
 */
export function loadsRow(input: LoadsRowInput): Record<string, CellValue> {
  const { meta, attempt, summary } = input;
  const billed = input.jobs.reduce((n, j) => n + j.bytesBilled, 0n);
  const processed = input.jobs.reduce((n, j) => n + j.bytesProcessed, 0n);
  return {
    load_id: attempt.loadId,
    load_key: meta.loadKey,
    bucket: meta.bucket,
    name: meta.name,
    generation: meta.generation,
    status: 'loaded',
    reason: null,
    started_at: attempt.startedAt.toISOString(),
    finished_at: summary.finishedAt.toISOString(),
    duration_ms: Math.max(0, summary.finishedAt.getTime() - attempt.startedAt.getTime()),
    lines_read: summary.linesRead,
    bytes_read: summary.bytesRead,
    events_loaded: input.eventsLoaded,
    duplicates: summary.eventsStaged - input.eventsLoaded,
    failed: summary.failed,
    values_discarded: summary.valuesDiscarded,
    suppressed: summary.suppressed ?? 0,
    rows_written: input.rowsWritten,
    schema_changes: JSON.stringify(summary.schemaChanges),
    loaded_at: input.loadedAt.toISOString(),
    bytes_billed: billed,
    bytes_processed: processed,
    job_ids: JSON.stringify([...new Set(input.jobs.map((j) => j.jobId))]),
  };
}

export function schemaChangeRow(
  loadId: string,
  change: SchemaChange,
  changedAt: string,
): Record<string, CellValue> {
  const base = { load_id: loadId, table_name: change.table, changed_at: changedAt };
  switch (change.kind) {
    case 'create_table':
      return { ...base, column_name: null, change: 'create_table', from_type: null, to_type: null };
    case 'add_column':
      return {
        ...base,
        column_name: change.column,
        change: 'add_column',
        from_type: null,
        to_type: change.type,
      };
    case 'widen_column':
      return {
        ...base,
        column_name: change.column,
        change: 'widen_column',
        from_type: change.from,
        to_type: change.to,
      };
    default: {
      const never: never = change;
      return never;
    }
  }
}
