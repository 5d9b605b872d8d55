import { q } from '../../src/destinations/bigquery/sql.ts';
import { STAGE_COLUMNS } from '../../src/destinations/bigquery/table-layout.ts';
import { BOOKKEEPING_SCHEMAS } from '../../src/destinations/bookkeeping-tables.ts';
import { TABLES } from '../../src/destinations/destination.ts';

/*
 * The per-file commit of the previous BigQuery write path (one multi-statement transaction over staging tables),
 * kept only so that the billing bench (test/bench/bigquery-billing.ts) can put today's figure beside the new one,
 * measured on the same strict fake. Production no longer runs it.
 */

/** A staged target: rows of `stagingTable` become rows of `table`; `columns` are the target's columns. */
export interface StagedTarget {
  table: string;
  stagingTable: string;
  columns: readonly string[];
}

export interface CommitScriptInput {
  projectId: string;
  datasetId: string;
  /** Event tables and child tables: inserted for surviving (event id, line) pairs. */
  events: readonly StagedTarget[];
  /** The users upsert, when identify rows were staged. */
  users?: StagedTarget;
  /** Bookkeeping rows copied as they are (failed events, schema-change records). */
  copies: readonly StagedTarget[];
}

/**
 * The commit of one load as ONE BigQuery multi-statement transaction (a single query job with a deterministic id):
 * readers see all of a load or nothing, and a load key that already committed makes every statement a no-op.
 *
 * De-duplication reads the narrow event-id index (id, received_at), not the wide event tables, and only the
 * partitions the look-back window can touch: `i.received_at >= @window_start` is a constant partition filter
 * (`@window_start` = the earliest staged received_at minus the window); the per-event bound
 * `i.received_at >= e.dedup_from` then applies the exact window.
 *
 * Parameters: load_key, load_id, window_start, events_staged and the loads-row values (built in load-session.ts,
 * `commit`).
 */
export function commitScript(input: CommitScriptInput): string {
  const t = (table: string): string => q(`${input.projectId}.${input.datasetId}.${table}`);
  const guard = `NOT EXISTS (SELECT 1 FROM ${t(TABLES.loads)} AS l WHERE l.load_key = @load_key AND l.status IN ('loaded', 'complete'))`;
  const survivorsJoin = (alias: string): string =>
    `JOIN _sluice_survivors AS v ON ${alias}.${q(STAGE_COLUMNS.eventId)} = v.event_id AND ${alias}.${q(STAGE_COLUMNS.line)} = v.line`;
  const staged = [...input.events, ...(input.users ? [input.users] : [])];
  const statements: string[] = ['BEGIN TRANSACTION'];

  const union =
    staged.length === 0
      ? `SELECT CAST(NULL AS STRING) AS event_id, CAST(NULL AS INT64) AS line, CAST(NULL AS TIMESTAMP) AS received_at, CAST(NULL AS TIMESTAMP) AS dedup_from FROM (SELECT 1 AS one) AS _none WHERE FALSE`
      : staged
          .map(
            (s) =>
              `SELECT ${q(STAGE_COLUMNS.eventId)} AS event_id, ${q(STAGE_COLUMNS.line)} AS line, ${q(STAGE_COLUMNS.receivedAt)} AS received_at, ${q(STAGE_COLUMNS.dedupFrom)} AS dedup_from FROM ${t(s.stagingTable)}`,
          )
          .join('\n  UNION ALL\n  ');
  statements.push(
    `CREATE TEMP TABLE _sluice_staged_events AS
SELECT event_id, line, received_at, dedup_from FROM (
  ${union}
) AS u
WHERE ${guard}
GROUP BY event_id, line, received_at, dedup_from`,
  );
  statements.push(
    `CREATE TEMP TABLE _sluice_survivors AS
SELECT e.event_id, e.line, e.received_at FROM _sluice_staged_events AS e
WHERE NOT EXISTS (
  SELECT 1 FROM ${t(TABLES.eventIds)} AS i
  WHERE i.received_at >= CAST(@window_start AS TIMESTAMP)
    AND i.id = e.event_id
    AND i.received_at >= e.dedup_from
)
QUALIFY ROW_NUMBER() OVER (PARTITION BY e.event_id ORDER BY e.line) = 1`,
  );
  statements.push(
    `INSERT INTO ${t(TABLES.eventIds)} (${q('id')}, ${q('received_at')}, ${q('load_id')})
SELECT event_id, received_at, @load_id FROM _sluice_survivors`,
  );
  for (const target of input.events) {
    const cols = target.columns.map(q);
    statements.push(
      `INSERT INTO ${t(target.table)} (${cols.join(', ')})
SELECT ${cols.map((c) => `s.${c}`).join(', ')} FROM ${t(target.stagingTable)} AS s
${survivorsJoin('s')}`,
    );
  }
  if (input.users) statements.push(...usersStatements(input.users, t, survivorsJoin));
  for (const copy of input.copies) {
    const cols = copy.columns.map(q);
    statements.push(
      `INSERT INTO ${t(copy.table)} (${cols.join(', ')})
SELECT ${cols.join(', ')} FROM ${t(copy.stagingTable)}
WHERE ${guard}`,
    );
  }
  const written = [
    ...input.events.map((s) => `(SELECT COUNT(*) FROM ${t(s.stagingTable)} AS s ${survivorsJoin('s')})`),
    ...(input.users ? ['(SELECT n FROM _sluice_users_applied)'] : []),
  ];
  const loadColumns = BOOKKEEPING_SCHEMAS[TABLES.loads]!.map((c) => c.name);
  const values: Record<string, string> = {
    load_id: '@load_id',
    load_key: '@load_key',
    bucket: '@bucket',
    name: '@name',
    generation: '@generation',
    status: `'loaded'`,
    started_at: 'CAST(@started_at AS TIMESTAMP)',
    finished_at: 'CAST(@finished_at AS TIMESTAMP)',
    duration_ms: '@duration_ms',
    lines_read: '@lines_read',
    bytes_read: '@bytes_read',
    events_loaded: '(SELECT COUNT(*) FROM _sluice_survivors)',
    duplicates: '@events_staged - (SELECT COUNT(*) FROM _sluice_survivors)',
    failed: '@failed',
    values_discarded: '@values_discarded',
    rows_written: written.length === 0 ? '0' : written.join(' + '),
    schema_changes: 'PARSE_JSON(@schema_changes)',
    loaded_at: 'CAST(@loaded_at AS TIMESTAMP)',
  };
  statements.push(
    `INSERT INTO ${t(TABLES.loads)} (${loadColumns.map(q).join(', ')})
SELECT ${loadColumns.map((c) => values[c] ?? 'NULL').join(', ')}
FROM (SELECT 1 AS one) AS _row
WHERE ${guard}`,
  );
  statements.push('COMMIT TRANSACTION');
  return `${statements.join(';\n\n')};\n`;
}

/**
 * Users upsert, the same rule as the DuckDB destination: staged identify rows that survived de-duplication
 * collapse to one row per user (per column, the value of the latest line that has one; received_at = the latest),
 * then MERGE on `id`: when the staged row is not older than the stored one, non-null staged values replace stored
 * ones (COALESCE). `_sluice_users_applied` counts the users the MERGE writes, for the loads row.
 */
function usersStatements(
  users: StagedTarget,
  t: (table: string) => string,
  survivorsJoin: (alias: string) => string,
): string[] {
  const cols = users.columns;
  const rest = cols.filter((c) => c !== 'id');
  const order = `PARTITION BY s.${q('id')} ORDER BY s.${q(STAGE_COLUMNS.line)} DESC`;
  const whole = `${order} ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING`;
  const latest = rest.map((c) => `FIRST_VALUE(s.${q(c)} IGNORE NULLS) OVER (${whole}) AS ${q(c)}`);
  const hasReceived = cols.includes('received_at');
  const newer = hasReceived
    ? `(T.${q('received_at')} IS NULL OR S._sluice_received >= T.${q('received_at')})`
    : 'TRUE';
  return [
    `CREATE TEMP TABLE _sluice_users AS
SELECT ${cols.map(q).join(', ')}, _sluice_received FROM (
  SELECT s.${q('id')}${latest.length > 0 ? `, ${latest.join(', ')}` : ''},
    MAX(s.${q(STAGE_COLUMNS.receivedAt)}) OVER (PARTITION BY s.${q('id')}) AS _sluice_received,
    ROW_NUMBER() OVER (${order}) AS _sluice_rn
  FROM ${t(users.stagingTable)} AS s
  ${survivorsJoin('s')}
) AS x
WHERE _sluice_rn = 1`,
    `CREATE TEMP TABLE _sluice_users_applied AS
SELECT COUNT(*) AS n FROM _sluice_users AS S
LEFT JOIN ${t(TABLES.users)} AS T ON T.${q('id')} = S.${q('id')}
WHERE T.${q('id')} IS NULL OR ${newer}`,
    `MERGE INTO ${t(TABLES.users)} AS T
USING _sluice_users AS S
ON T.${q('id')} = S.${q('id')}
${rest.length > 0 ? `WHEN MATCHED AND ${newer} THEN UPDATE SET ${rest.map((c) => `${q(c)} = COALESCE(S.${q(c)}, T.${q(c)})`).join(', ')}\n` : ''}WHEN NOT MATCHED THEN INSERT (${cols.map(q).join(', ')}) VALUES (${cols.map((c) => `S.${q(c)}`).join(', ')})`,
  ];
}
