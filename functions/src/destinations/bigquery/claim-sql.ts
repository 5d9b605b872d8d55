import { TABLES } from '../destination.ts';
import { q } from './sql.ts';

/**
 * The claim lock: one row of the event-id index, in a partition no event reaches (received_at 2100-01-01, a
 * future day: partition expiration never drops it). Every claim UPDATEs it, so every claim is a MUTATING DML
 * statement on the index's lock partition, and BigQuery never lets two of them commit concurrently: "Mutating DML
 * statements that run concurrently on a table cause DML statement conflicts when the statements try to mutate the
 * same partition" (https://cloud.google.com/bigquery/docs/data-manipulation-language#dml_statement_conflicts) —
 * one waits or fails (retried, see retry.ts), then runs on a snapshot that includes the other's claims. Without
 * it the claim only inserts, and "An INSERT DML statement ... doesn't conflict with any other concurrently running
 * DML statement" (same page): two files would both see an id absent and both keep it.
 */
export const CLAIM_LOCK = {
  id: '_sluice_claim_lock',
  receivedAt: '2100-01-01 00:00:00.000000+00:00',
} as const;

/** Where the claim reads the file's ids from: an ARRAY<STRUCT> parameter (no table: bills nothing) or a table. */
export type IdsSource = { kind: 'param' } | { kind: 'table'; table: string };

/**
 * ONE statement claims the file's surviving ids: a MERGE into the event-id index that inserts every id not seen
 * within its look-back window (the lowest line per id was chosen before) under this load's id, and touches the
 * claim lock. `WHEN NOT MATCHED` is the de-duplication; the index's own `received_at >= @window_start` is a
 * constant partition filter. Parameters: load_id, window_start, lock_id, lock_at, and `ids` (param source):
 * ARRAY<STRUCT<event_id STRING, received_at TIMESTAMP, dedup_from TIMESTAMP>>.
 *
 * Bills 10 MB (the index) with the parameter source, 20 MB with a table source: the same whatever the number of
 * event tables. Its `dmlStats.insertedRowCount` equal to the number of ids means every id survived; otherwise
 * `mineSql` reads back which ones this load holds.
 */
export function claimSql(projectId: string, datasetId: string, source: IdsSource): string {
  const index = q(`${projectId}.${datasetId}.${TABLES.eventIds}`);
  const ids =
    source.kind === 'param'
      ? 'SELECT event_id, received_at, dedup_from FROM UNNEST(@ids)'
      : `SELECT event_id, received_at, dedup_from FROM ${q(`${projectId}.${datasetId}.${source.table}`)}`;
  return `MERGE INTO ${index} AS T
USING (
  SELECT event_id, CAST(received_at AS TIMESTAMP) AS received_at, CAST(dedup_from AS TIMESTAMP) AS dedup_from, FALSE AS is_lock FROM (${ids}) AS f
  UNION ALL
  SELECT @lock_id, CAST(@lock_at AS TIMESTAMP), CAST(@lock_at AS TIMESTAMP), TRUE
) AS S
ON T.id = S.event_id AND (
  (S.is_lock AND T.received_at = CAST(@lock_at AS TIMESTAMP))
  OR (NOT S.is_lock AND T.received_at >= CAST(@window_start AS TIMESTAMP) AND T.received_at < CAST(@lock_at AS TIMESTAMP) AND T.received_at >= S.dedup_from)
)
WHEN MATCHED AND S.is_lock THEN UPDATE SET load_id = @load_id
WHEN NOT MATCHED AND NOT S.is_lock THEN INSERT (id, received_at, load_id) VALUES (S.event_id, S.received_at, @load_id)`;
}

/** The ids this load holds in the index (after a claim that did not insert every id). Bills 10 MB. */
export function mineSql(projectId: string, datasetId: string): string {
  return `SELECT id FROM ${q(`${projectId}.${datasetId}.${TABLES.eventIds}`)}
WHERE load_id = @load_id AND received_at >= CAST(@window_start AS TIMESTAMP) AND received_at < CAST(@lock_at AS TIMESTAMP)`;
}

/** The REST shape of the `ids` ARRAY<STRUCT> parameter. */
export function idsParam(
  rows: readonly { eventId: string; receivedAt: string; dedupFrom: string }[],
): Record<string, unknown> {
  const field = (name: string, type: string) => ({ name, type: { type } });
  return {
    name: 'ids',
    parameterType: {
      type: 'ARRAY',
      arrayType: {
        type: 'STRUCT',
        structTypes: [
          field('event_id', 'STRING'),
          field('received_at', 'TIMESTAMP'),
          field('dedup_from', 'TIMESTAMP'),
        ],
      },
    },
    parameterValue: {
      arrayValues: rows.map((r) => ({
        structValues: {
          event_id: { value: r.eventId },
          received_at: { value: r.receivedAt },
          dedup_from: { value: r.dedupFrom },
        },
      })),
    },
  };
}
