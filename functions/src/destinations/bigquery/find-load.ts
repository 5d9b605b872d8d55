import { randomUUID } from 'node:crypto';
import { completeLoadRecord, type LoadRecord, type SchemaChange, TABLES } from '../destination.ts';
import type { BigQueryContext } from './bigquery-context.ts';
import type { JobResult } from './job-runner.ts';
import { stringParam } from './sql.ts';
import { loadHash } from './staging.ts';

const time = (v: unknown): Date => {
  const value = (v as { value?: unknown } | null)?.value ?? v;
  return new Date(String(value));
};

/**
 * The committed load for a key (one small query on the loads table, clustered by load_key: 10 MB billed), or
 * undefined; with the query job, whose bytes the load that follows records.
 */
export async function findLoad(
  ctx: BigQueryContext,
  loadKey: string,
): Promise<{ record: LoadRecord | undefined; job: JobResult }> {
  const { projectId, datasetId } = ctx.settings;
  const sql = `SELECT load_id, load_key, bucket, name, generation, status, started_at, finished_at, lines_read, bytes_read, events_loaded, duplicates, failed, values_discarded, rows_written, TO_JSON_STRING(schema_changes) AS schema_changes
FROM \`${projectId}.${datasetId}.${TABLES.loads}\`
WHERE load_key = @load_key AND status IN ('loaded', 'complete')
ORDER BY finished_at
LIMIT 1`;
  // Reads are not idempotency-critical: a fresh id per lookup.
  const job = await ctx.jobs.run(
    `sluice_find_${loadHash(loadKey)}_${randomUUID().replaceAll('-', '')}`,
    {
      query: {
        query: sql,
        useLegacySql: false,
        parameterMode: 'NAMED',
        queryParameters: [stringParam('load_key', loadKey)],
      },
    },
    ctx.policy(),
  );
  const [row] = await ctx.jobs.rows(job.jobId, ctx.policy());
  if (!row) return { record: undefined, job };
  const changes = row.schema_changes;
  const record = completeLoadRecord(
    row,
    time(row.started_at),
    time(row.finished_at),
    typeof changes === 'string' ? (JSON.parse(changes) as SchemaChange[]) : [],
  );
  return { record, job };
}
