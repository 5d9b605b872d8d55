import { createHash, randomUUID } from 'node:crypto';
import { wellFormed } from '../../normalize/parse-json.ts';
import { quarantinedRecord } from '../bookkeeping-tables.ts';
import {
  type AttemptFailure,
  completeLoadRecord,
  type LoadAttempts,
  type LoadMeta,
  type LoadRecord,
  type SchemaChange,
  TABLES,
} from '../destination.ts';
import type { BigQueryContext } from './bigquery-context.ts';

/** A named STRING query parameter (jobs.query `queryParameters`). */
const param = (name: string, value: string | null) => ({
  name,
  parameterType: { type: 'STRING' },
  parameterValue: { value },
});

const time = (v: unknown): Date => new Date(String((v as { value?: unknown } | null)?.value ?? v));

/**
 * `LoadAttempts` on BigQuery (see destination.ts): the attempt count per load key in `_sluice_load_attempts`,
 * one MERGE per failed attempt; the quarantine row is an INSERT into the loads table guarded by NOT EXISTS of a
 * loaded row for the key. Only failed loads pay for these statements; a successful load runs none.
 */
export function bigQueryLoadAttempts(ctx: BigQueryContext): LoadAttempts {
  const table = (name: string): string => `\`${ctx.settings.projectId}.${ctx.settings.datasetId}.${name}\``;
  const query = async (
    kind: string,
    loadKey: string,
    sql: string,
    params: ReturnType<typeof param>[],
  ): Promise<Record<string, unknown>[]> => {
    const hash = createHash('sha256').update(loadKey).digest('hex').slice(0, 24);
    // Not idempotency-critical (a repeated count only quarantines one attempt early): a fresh id per call.
    const job = await ctx.jobs.run(
      `sluice_${kind}_${hash}_${randomUUID().replaceAll('-', '')}`,
      { query: { query: sql, useLegacySql: false, parameterMode: 'NAMED', queryParameters: params } },
      ctx.policy(),
    );
    return ctx.jobs.rows(job.jobId, ctx.policy());
  };

  return {
    async findQuarantine(loadKey: string): Promise<LoadRecord | undefined> {
      const [row] = await query(
        'quarantine_find',
        loadKey,
        `SELECT load_id, load_key, bucket, name, generation, status, reason, started_at, finished_at
FROM ${table(TABLES.loads)} WHERE load_key = @load_key AND status = 'quarantined'
ORDER BY finished_at DESC LIMIT 1`,
        [param('load_key', loadKey)],
      );
      if (!row) return undefined;
      return completeLoadRecord(row, time(row.started_at), time(row.finished_at), [] as SchemaChange[]);
    },

    async recordFailedAttempt(loadKey: string, failure: AttemptFailure): Promise<number> {
      const t = table(TABLES.loadAttempts);
      await query(
        'attempt',
        loadKey,
        `MERGE INTO ${t} AS a
USING (SELECT @load_key AS load_key, @code AS code, @reason AS reason, CAST(@now AS TIMESTAMP) AS now) AS s
ON a.load_key = s.load_key
WHEN MATCHED THEN UPDATE SET attempts = a.attempts + 1, last_code = s.code, last_reason = s.reason, updated_at = s.now
WHEN NOT MATCHED THEN INSERT (load_key, attempts, last_code, last_reason, updated_at)
  VALUES (s.load_key, 1, s.code, s.reason, s.now)`,
        [
          param('load_key', loadKey),
          param('code', failure.code),
          param('reason', wellFormed(failure.reason)),
          param('now', new Date(ctx.now()).toISOString()),
        ],
      );
      const [row] = await query(
        'attempt_read',
        loadKey,
        `SELECT attempts FROM ${t} WHERE load_key = @load_key`,
        [param('load_key', loadKey)],
      );
      return Number(row?.attempts ?? 1);
    },

    async resetAttempts(loadKey: string): Promise<void> {
      await query(
        'attempt_reset',
        loadKey,
        `DELETE FROM ${table(TABLES.loadAttempts)} WHERE load_key = @load_key`,
        [param('load_key', loadKey)],
      );
    },

    async quarantine(meta: LoadMeta, reason: string, finishedAt: Date): Promise<LoadRecord> {
      const loads = table(TABLES.loads);
      await query(
        'quarantine',
        meta.loadKey,
        `INSERT INTO ${loads} (load_id, load_key, bucket, name, generation, status, reason, started_at, finished_at,
  duration_ms, lines_read, bytes_read, events_loaded, duplicates, failed, values_discarded, rows_written, loaded_at)
SELECT @load_id, @load_key, @bucket, @name, @generation, 'quarantined', @reason, CAST(@started_at AS TIMESTAMP),
  CAST(@finished_at AS TIMESTAMP), 0, 0, 0, 0, 0, 0, 0, 0, CAST(@finished_at AS TIMESTAMP)
FROM (SELECT 1 AS one) AS _row
WHERE NOT EXISTS (SELECT 1 FROM ${loads} AS l WHERE l.load_key = @load_key AND l.status IN ('loaded', 'complete'))`,
        [
          param('load_id', meta.loadId),
          param('load_key', meta.loadKey),
          param('bucket', meta.bucket),
          param('name', meta.name),
          param('generation', meta.generation),
          param('reason', wellFormed(reason)),
          param('started_at', meta.startedAt.toISOString()),
          param('finished_at', finishedAt.toISOString()),
        ],
      );
      return quarantinedRecord(meta, reason, finishedAt);
    },
  };
}
