import type { DuckDBConnection } from '@duckdb/node-api';
import { wellFormed } from '../../normalize/parse-json.ts';
import type { LoadRecord, SchemaChange } from '../destination.ts';
import { completeLoadRecord, LOADED_STATUSES, TABLES } from '../destination.ts';
import { ident, literal } from './sql.ts';

function parseSchemaChanges(text: unknown): SchemaChange[] {
  try {
    return JSON.parse(String(text ?? '[]')) as SchemaChange[];
  } catch {
    return [];
  }
}

/** The loads rows of `loadKey` with one of `statuses`, oldest first. */
export async function loadRecordsIn(
  connection: DuckDBConnection,
  loadKey: string,
  statuses: readonly string[],
): Promise<LoadRecord[]> {
  const reader = await connection.runAndReadAll(
    `SELECT load_id, load_key, bucket, name, generation, status, reason,
            CAST(epoch_ms(started_at) AS DOUBLE) AS started_ms, CAST(epoch_ms(finished_at) AS DOUBLE) AS finished_ms,
            CAST(lines_read AS DOUBLE) AS lines_read, CAST(bytes_read AS DOUBLE) AS bytes_read,
            CAST(events_loaded AS DOUBLE) AS events_loaded, CAST(duplicates AS DOUBLE) AS duplicates,
            CAST(failed AS DOUBLE) AS failed, CAST(values_discarded AS DOUBLE) AS values_discarded,
            CAST(rows_written AS DOUBLE) AS rows_written, CAST(suppressed AS DOUBLE) AS suppressed, CAST(schema_changes AS VARCHAR) AS schema_changes
     FROM ${ident(TABLES.loads)} WHERE load_key = $1 AND status IN (${statuses.map(literal).join(', ')})
     ORDER BY finished_at`,
    [loadKey],
  );
  return reader
    .getRowObjectsJS()
    .map((row) =>
      completeLoadRecord(
        row,
        new Date(Number(row.started_ms ?? 0)),
        new Date(Number(row.finished_ms ?? 0)),
        parseSchemaChanges(row.schema_changes),
      ),
    );
}

/** The loaded record of `loadKey` (status `loaded`, or `complete` as written before quarantine existed). */
export async function findLoadIn(
  connection: DuckDBConnection,
  loadKey: string,
): Promise<LoadRecord | undefined> {
  return (await loadRecordsIn(connection, loadKey, LOADED_STATUSES))[0];
}

/** Inserts the loads row of `record`, by column name (older warehouses gained columns at the end). */
export async function insertLoadRow(connection: DuckDBConnection, record: LoadRecord): Promise<void> {
  await connection.run(
    `INSERT INTO ${ident(TABLES.loads)} (load_id, load_key, bucket, name, generation, status, reason, started_at,
       finished_at, duration_ms, lines_read, bytes_read, events_loaded, duplicates, failed, values_discarded,
       rows_written, schema_changes, loaded_at, suppressed)
     VALUES ($1, $2, $3, $4, $5, $6, $7, CAST($8 AS TIMESTAMPTZ), CAST($9 AS TIMESTAMPTZ), $10, $11, $12, $13, $14,
       $15, $16, $17, CAST($18 AS JSON), CAST($19 AS TIMESTAMPTZ), $20)`,
    [
      record.loadId,
      record.loadKey,
      record.bucket,
      record.name,
      record.generation,
      record.status,
      record.reason === null ? null : wellFormed(record.reason),
      record.startedAt.toISOString(),
      record.finishedAt.toISOString(),
      record.finishedAt.getTime() - record.startedAt.getTime(),
      record.linesRead,
      record.bytesRead,
      record.eventsLoaded,
      record.duplicates,
      record.failed,
      record.valuesDiscarded,
      record.rowsWritten,
      JSON.stringify(record.schemaChanges),
      record.finishedAt.toISOString(),
      record.suppressed,
    ],
  );
}
