import { createHash } from 'node:crypto';
import type { UpsertTable } from '../../schema/upsert-tables.ts';
import type { BigQueryContext } from './bigquery-context.ts';
import type { JobResult } from './job-runner.ts';
import { withRetry } from './retry.ts';
import { q, stringParam } from './sql.ts';
import { bigQueryTimestamp } from './staging.ts';
import type { BigQueryField } from './table-layout.ts';

/**
 * Upkeep of the upsert tables (`UPSERT_TABLES`: `users`, `accounts`), each the same way. A file's surviving
 * identify (group) rows are APPENDED to the table's log (`_sluice_users_log`, `_sluice_accounts_log`) by a load
 * job (free); the table itself is brought up to date by one MERGE from its log at most once per
 * `usersRefreshIntervalMs`, run by whichever load finds it due. The MERGE reads the table (its size) plus the log
 * rows since the last refresh, so its cost per month is (refreshes per month) x (table size), not (files per
 * month) x (table size).
 */
export function upsertLog(upsert: UpsertTable): string {
  return `_sluice_${upsert.table}_log`;
}

/** A log's own columns besides the upsert table's columns. */
export const UPSERT_LOG_COLUMNS = {
  line: '_sluice_line',
  receivedAt: '_sluice_received_at',
  /** When the row was prepared for the log (the refresh reads rows since the previous refresh, minus an overlap). */
  loggedAt: '_sluice_logged_at',
} as const;

export const UPSERT_LOG_FIELDS: BigQueryField[] = [
  { name: UPSERT_LOG_COLUMNS.line, type: 'INT64', mode: 'NULLABLE' },
  { name: UPSERT_LOG_COLUMNS.receivedAt, type: 'TIMESTAMP', mode: 'NULLABLE' },
  { name: UPSERT_LOG_COLUMNS.loggedAt, type: 'TIMESTAMP', mode: 'NULLABLE' },
];

/**
 * The same rule as the per-file upsert it replaces (and as DuckDB's): per id (user, group), the log rows not
 * older than the stored row collapse to one (per column the latest non-null value, by received_at then line;
 * received_at = the latest), then MERGE on the key replaces stored values with non-null ones when the collapsed
 * row is not older. Re-applying rows already applied changes nothing, so the overlap between refreshes is harmless.
 */
export function upsertRefreshSql(
  projectId: string,
  datasetId: string,
  upsert: UpsertTable,
  columns: readonly string[],
): string {
  const key = upsert.key;
  const target = q(`${projectId}.${datasetId}.${upsert.table}`);
  const log = q(`${projectId}.${datasetId}.${upsertLog(upsert)}`);
  const rest = columns.filter((c) => c !== key);
  const hasReceived = columns.includes('received_at');
  const order = `PARTITION BY l.${q(key)} ORDER BY l.${q(UPSERT_LOG_COLUMNS.receivedAt)} DESC, l.${q(UPSERT_LOG_COLUMNS.line)} DESC`;
  const whole = `${order} ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING`;
  const latest = rest.map((c) => `FIRST_VALUE(l.${q(c)} IGNORE NULLS) OVER (${whole}) AS ${q(c)}`);
  const notOlder = hasReceived
    ? `(u.${q(key)} IS NULL OR u.${q('received_at')} IS NULL OR l.${q(UPSERT_LOG_COLUMNS.receivedAt)} >= u.${q('received_at')})`
    : 'TRUE';
  const newer = hasReceived
    ? `(T.${q('received_at')} IS NULL OR S._sluice_received >= T.${q('received_at')})`
    : 'TRUE';
  // Every column qualified by its range variable: a trait named like one (`x`, `l`, `u`) stays that column.
  return `MERGE INTO ${target} AS T
USING (
  SELECT ${columns.map((c) => `x.${q(c)}`).join(', ')}, x._sluice_received FROM (
    SELECT l.${q(key)}${latest.length > 0 ? `, ${latest.join(', ')}` : ''},
      MAX(l.${q(UPSERT_LOG_COLUMNS.receivedAt)}) OVER (PARTITION BY l.${q(key)}) AS _sluice_received,
      ROW_NUMBER() OVER (${order}) AS _sluice_rn
    FROM ${log} AS l
    LEFT JOIN ${target} AS u ON u.${q(key)} = l.${q(key)}
    WHERE l.${q(UPSERT_LOG_COLUMNS.loggedAt)} >= CAST(@since AS TIMESTAMP) AND ${notOlder}
  ) AS x
  WHERE x._sluice_rn = 1
) AS S
ON T.${q(key)} = S.${q(key)}
${rest.length > 0 ? `WHEN MATCHED AND ${newer} THEN UPDATE SET ${rest.map((c) => `${q(c)} = COALESCE(S.${q(c)}, T.${q(c)})`).join(', ')}\n` : ''}WHEN NOT MATCHED THEN INSERT (${columns.map(q).join(', ')}) VALUES (${columns.map((c) => `S.${q(c)}`).join(', ')})`;
}

interface RefreshState {
  /** Log rows logged at or after this (minus the overlap) are read by the next refresh. */
  through: string;
}

/**
 * Runs the refresh of upsert table `upsert` when it is due (no refresh yet, or the last one is at least the
 * interval old). The state is one object per table in the staging bucket (`users-refresh.json`,
 * `accounts-refresh.json`), replaced with a generation precondition after the MERGE succeeded: two loads that
 * find it due at once both MERGE (mutating DML on the table: BigQuery runs them one after the
 * other), and one of the state writes loses its precondition, harmlessly. The overlap (the time budget of a
 * delivery) covers a log row prepared before the previous refresh whose load job finished after it read the log.
 */
export async function refreshUpsertIfDue(
  ctx: BigQueryContext,
  upsert: UpsertTable,
  columns: readonly string[],
): Promise<JobResult | undefined> {
  const { settings } = ctx;
  const file = ctx.storage
    .bucket(settings.stagingBucket)
    .file(`${settings.stagingPrefix}${upsert.table}-refresh.json`);
  let state: RefreshState | undefined;
  let generation = 0;
  const got = await withRetry(ctx.policy(), `download ${file.name}`, async () => {
    const [data] = await file.download();
    const [metadata] = await file.getMetadata();
    return { data, metadata };
  });
  if (got.ok) {
    state = JSON.parse(got.value.data.toString('utf8')) as RefreshState;
    generation = Number(got.value.metadata.generation ?? 0);
  }
  const now = ctx.now();
  if (state && now - Date.parse(state.through) < settings.usersRefreshIntervalMs) return undefined;
  const since = state ? Date.parse(state.through) - settings.timeBudgetMs : 0;
  const sql = upsertRefreshSql(settings.projectId, settings.datasetId, upsert, columns);
  const run = await ctx.jobs.run(
    `sluice_${upsert.table}_${createHash('sha256')
      .update(`${state?.through ?? ''}|${now}`)
      .digest('hex')
      .slice(0, 24)}`,
    {
      query: {
        query: sql,
        useLegacySql: false,
        parameterMode: 'NAMED',
        queryParameters: [stringParam('since', bigQueryTimestamp(new Date(since)))],
      },
    },
    ctx.policy(),
  );
  // A lost precondition (`duplicate`) means another load refreshed meanwhile: nothing to do.
  await withRetry(ctx.policy(), `upload ${file.name}`, () =>
    file.save(JSON.stringify({ through: new Date(now).toISOString() } satisfies RefreshState), {
      resumable: false,
      contentType: 'application/json',
      preconditionOpts: { ifGenerationMatch: generation },
    }),
  );
  return run;
}
