/**
 * Seam 6 — the Destination: one interface, implemented by DuckDB (local, embedded, tests) and BigQuery
 * (production). Every difference between destinations is data in `DestinationCapabilities`, never an
 * `if (bigquery)` in the loader.
 *
 * Lifecycle of one file load (the loader drives it; implementations must follow it exactly):
 *
 *   open()
 *   findLoad(loadKey)                 -> a complete load exists? then the delivery is a no-op (close, return)
 *   readSchema()                      -> the tables/columns/types that exist now
 *   beginLoad(loadKey, meta)          -> LoadSession
 *     repeat per batch (streaming; memory is bounded by one batch):
 *       applySchemaChanges(changes)   -> new tables / columns / INT64->FLOAT64 widenings needed by the next batch
 *       appendRows(table, rows)       -> stage the batch's rows (never visible to readers before commit)
 *       appendFailed(failures)        -> stage failed-event rows
 *     commit(summary)                 -> ONE atomic step, see below; returns the counts it wrote
 *   (or abort() on any error: drops staged data; nothing of this load becomes visible)
 *   close()                           -> releases every handle (DuckDB: the file lock)
 *
 * What every implementation must guarantee:
 * - Atomic visibility: readers see either none or all of a load's rows, failed events, schema-change records and
 *   its loads row. A crash (process killed) at ANY point before commit finishes leaves no visible trace of the load
 *   except, at most, additive schema changes (new empty tables/columns, widened columns), which are harmless.
 * - Idempotency: `findLoad(loadKey)` returns the complete load for that key, if one committed. A retried load after
 *   a crash therefore leaves exactly one complete load: no duplicates, no gaps. Two concurrent loads of the same key
 *   must not both commit (DuckDB: single writer lock + re-check inside the commit transaction; BigQuery: the loads
 *   row is written by the same MERGE/transaction, which re-checks the key, and job ids are derived from the key).
 * - De-duplication at commit, on the event id (`StagedRow.eventId`): of all staged rows that share an eventId, only
 *   those of the lowest `line` survive; and an eventId already recorded in the event-id index
 *   (`TABLES.eventIds`) with `received_at >= (this event's received_at - dedupWindow)` is a duplicate and all of
 *   its staged rows (in every table, child tables included) are dropped. Surviving event ids are added to the index
 *   in the same atomic step.
 * - Upserts at commit, for every table of `UPSERT_TABLES` (schema/upsert-tables.ts: `users` from identifies,
 *   `accounts` from group calls): rows staged for such a table are upserted on its key `id` (= user id / group
 *   id): for each column a non-null staged value replaces the stored one when the staged row's `received_at` is
 *   >= the stored row's; several staged rows for one id are applied in `line` order. Upsert rows are not subject
 *   to de-duplication beyond that (a duplicate event is never staged for an upsert table twice: the loader stages
 *   upsert rows only from the event rows, and the destination drops upsert rows whose (eventId, line) did not
 *   survive dedup).
 * - Types: values arrive already typed for the column's logical type (see `CellValue`); the destination only maps
 *   them to its SQL types (TIMESTAMP = RFC 3339 string validated by the loader, JSON = JSON text).
 * - Throws only retryable errors (`LoaderError` with `retryable: true`) for infrastructure problems (lock conflict,
 *   network, quota); the loader never hands it data that can fail a cast.
 */

import type { IdentityHook } from '../identity/upkeep.ts';
// The core warehouse types live in `model/warehouse.ts` (imported by naming, schema, normalize and here);
// re-exported so the destinations' imports stay as they were.
import type {
  CellValue,
  ColumnSchema,
  DestinationCapabilities,
  FailedEvent,
  LogicalType,
  SchemaChange,
  WarehouseSchema,
} from '../model/warehouse.ts';

export { LOGICAL_TYPES } from '../model/warehouse.ts';
export type {
  CellValue,
  ColumnSchema,
  DestinationCapabilities,
  FailedEvent,
  LogicalType,
  SchemaChange,
  WarehouseSchema,
};

/**
 * One row staged for a table: the event it came from (for dedup) and its cells by position. `cells[k]` is the value
 * of column `columns[at[k]]`; columns not listed are NULL. `columns` is shared by the rows of a table in a load and
 * only grows (a position never changes meaning), so a destination can map positions to its own column keys once.
 */
export interface StagedRow {
  /** The event's id (messageId) — the de-duplication key, also for child-table rows. */
  eventId: string;
  /** 1-based line number of the event in the file. */
  line: number;
  /** The event's received_at (RFC 3339), for the dedup look-back window. */
  receivedAt: string;
  /** Column names by position. Every column a row sets must exist in the table's schema. */
  columns: readonly string[];
  /** Positions in `columns` of the row's cells, each at most once. */
  at: readonly number[];
  /**
   * The row's values: `cells[k]` for `k < at.length`. The array may be longer and shared with another row of the
   * event (a compiled track shape's `tracks` row is the first cells of its own table's row).
   */
  cells: readonly CellValue[];
}

/** The `columns`/`at`/`cells` of a row given as an object keyed by column name (tests, small tools). */
export function cellsOf(
  values: Readonly<Record<string, CellValue>>,
): Pick<StagedRow, 'columns' | 'at' | 'cells'> {
  const columns = Object.keys(values);
  return { columns, at: columns.map((_c, i) => i), cells: Object.values(values) };
}

/** A staged row's cells as an object keyed by column name (NULL cells included as null). */
export function valuesOf(row: Pick<StagedRow, 'columns' | 'at' | 'cells'>): Record<string, CellValue> {
  const out: Record<string, CellValue> = {};
  for (let k = 0; k < row.at.length; k++)
    out[row.columns[row.at[k] as number] as string] = row.cells[k] as CellValue;
  return out;
}

/** Identifies the object a load reads and when it started. */
export interface LoadMeta {
  loadId: string;
  loadKey: string;
  bucket: string;
  name: string;
  generation: string;
  startedAt: Date;
  /** Look-back window for de-duplication on event id, in milliseconds. */
  dedupWindowMs: number;
}

/** What the loader counted while reading; the destination adds what only it can know (duplicates). */
export interface LoadSummary {
  linesRead: number;
  bytesRead: number;
  /** Events staged (valid lines); the destination splits them into loaded + duplicates. */
  eventsStaged: number;
  failed: number;
  valuesDiscarded: number;
  /** Lines dropped before normalization because their person is suppressed (privacy; default 0). */
  suppressed?: number;
  schemaChanges: SchemaChange[];
  finishedAt: Date;
}

/**
 * The loads-table row of one committed load (`loaded`: reconciliation linesRead = eventsLoaded + duplicates +
 * failed + suppressed) or of a quarantined one (`quarantined`: nothing of the file was written, every count is 0 and `reason`
 * says why; see `Destination.quarantine`).
 */
export interface LoadRecord {
  loadId: string;
  loadKey: string;
  bucket: string;
  name: string;
  generation: string;
  status: LoadStatus;
  /** Why the load was quarantined (`<code>: <detail>`); null for a loaded file. */
  reason: string | null;
  startedAt: Date;
  finishedAt: Date;
  linesRead: number;
  bytesRead: number;
  eventsLoaded: number;
  duplicates: number;
  failed: number;
  valuesDiscarded: number;
  /**
   * Lines dropped because their person is suppressed (privacy): reconciliation is linesRead = eventsLoaded +
   * duplicates + failed + suppressed.
   */
  suppressed: number;
  /** Rows written to all tables (event tables, child tables, users upserts). */
  rowsWritten: number;
  schemaChanges: SchemaChange[];
}

/** `loaded`: the file's rows are in the warehouse. `quarantined`: it failed `maxLoadAttempts` times (or once, with
 * an error no retry can fix) and is parked with its reason until a manual `npm run replay`. */
export type LoadStatus = 'loaded' | 'quarantined';

/** Loads-row `status` values meaning loaded (`complete` was written before the quarantine existed). */
export const LOADED_STATUSES = ['loaded', 'complete'] as const;

/** A failed attempt of a load, as counted for quarantine. */
export interface AttemptFailure {
  /** The LoaderError code (`SLUICE_ERR_LOAD_*`). */
  code: string;
  /** Its message (no event body). */
  reason: string;
}

/**
 * A loads-table row as a destination reads it back (snake_case columns; counts as numbers or numeric strings,
 * null -> 0) -> the LoadRecord of a complete load. Times and schema changes arrive decoded: each destination
 * returns them in its own form.
 */
export function completeLoadRecord(
  row: Record<string, unknown>,
  startedAt: Date,
  finishedAt: Date,
  schemaChanges: SchemaChange[],
): LoadRecord {
  const num = (k: string): number => Number(row[k] ?? 0);
  return {
    loadId: String(row.load_id),
    loadKey: String(row.load_key),
    bucket: String(row.bucket),
    name: String(row.name),
    generation: String(row.generation),
    // `complete` is how loads rows were written before `loaded`/`quarantined`; it means loaded.
    status: row.status === 'quarantined' ? 'quarantined' : 'loaded',
    reason: row.reason === null || row.reason === undefined ? null : String(row.reason),
    startedAt,
    finishedAt,
    linesRead: num('lines_read'),
    bytesRead: num('bytes_read'),
    eventsLoaded: num('events_loaded'),
    duplicates: num('duplicates'),
    failed: num('failed'),
    valuesDiscarded: num('values_discarded'),
    suppressed: num('suppressed'),
    rowsWritten: num('rows_written'),
    schemaChanges,
  };
}

export interface LoadSession {
  /** Applies changes before rows that need them are appended. May take effect now or at commit (see above). */
  applySchemaChanges(changes: readonly SchemaChange[]): Promise<void>;
  /** Stages one batch of rows for a table (called many times; streaming). */
  appendRows(table: string, rows: readonly StagedRow[]): Promise<void>;
  /** Stages failed-event rows. */
  appendFailed(failures: readonly FailedEvent[]): Promise<void>;
  /**
   * Atomically: dedup + insert staged rows into every table, upsert users, insert failed events, schema-change
   * records and the loads row. If a complete load with the same key committed meanwhile, writes nothing and
   * returns that load's record.
   */
  commit(summary: LoadSummary): Promise<LoadRecord>;
  /** Drops everything staged. Safe to call after a failed commit. */
  abort(): Promise<void>;
}

/**
 * Quarantine bookkeeping (issue 12): CloudEvents carry no delivery count, so the count of failed attempts per load
 * key lives in the warehouse (`TABLES.loadAttempts`). Each call is its own small atomic write, outside any load's
 * commit; they run after a failed load, between `open()` and `close()`. A failure that cannot reach the warehouse
 * (the lock held by another process, the warehouse unreachable) cannot be counted: those are retried, and the
 * count resumes when the warehouse answers again.
 */
export interface LoadAttempts {
  /** The quarantine row of this key (status `quarantined`), if it has one and no loaded row. */
  findQuarantine(loadKey: string): Promise<LoadRecord | undefined>;
  /** Counts one failed attempt of `loadKey`, keeping its code and reason; returns the count including it. */
  recordFailedAttempt(loadKey: string, failure: AttemptFailure): Promise<number>;
  /** Forgets the failed attempts of `loadKey` (a manual replay starts again from 0). */
  resetAttempts(loadKey: string): Promise<void>;
  /**
   * Writes the loads row of a quarantined load (status `quarantined`, `reason`, counts 0) unless a loaded row for
   * the key exists (then returns that one). Returns the row as written.
   */
  quarantine(meta: LoadMeta, reason: string, finishedAt: Date): Promise<LoadRecord>;
}

export interface Destination extends LoadAttempts {
  readonly capabilities: DestinationCapabilities;
  /** Identity graph support (issue 20, `functions/src/identity/`); without it the loader keeps no graph. */
  readonly identity?: IdentityHook;
  open(): Promise<void>;
  close(): Promise<void>;
  /** The loaded (status `loaded`, or the older `complete`) load for this key, or undefined. */
  findLoad(loadKey: string): Promise<LoadRecord | undefined>;
  readSchema(): Promise<WarehouseSchema>;
  beginLoad(meta: LoadMeta): Promise<LoadSession>;
}

/** Bookkeeping tables every destination creates (fixed schemas, see `bookkeeping-tables.ts`). */
export const TABLES = {
  loads: '_sluice_loads',
  failedEvents: '_sluice_failed_events',
  schemaChanges: '_sluice_schema_changes',
  eventIds: '_sluice_event_ids',
  loadAttempts: '_sluice_load_attempts',
  users: 'users',
  accounts: 'accounts',
} as const;
