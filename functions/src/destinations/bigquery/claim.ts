import { createHash, randomUUID } from 'node:crypto';
import type { BigQueryContext } from './bigquery-context.ts';
import { CLAIM_LOCK, claimSql, type IdsSource, idsParam, mineSql } from './claim-sql.ts';
import type { JobResult } from './job-runner.ts';
import { withRetry } from './retry.ts';
import { ensureTable } from './schema-ops.ts';
import { stringParam } from './sql.ts';
import { bigQueryTimestamp, idFragment } from './staging.ts';
import { STAGING_TABLE_PREFIX } from './table-layout.ts';

export interface IdEntry {
  line: number;
  receivedAt: string;
}

export interface Claim {
  /** Event ids this load holds in the index: its surviving events. */
  mine: Set<string>;
  jobs: JobResult[];
}

/**
 * Claims the file's ids (claim-sql.ts): one MERGE (deterministic id per load id and ids, so a retry finds the one
 * that ran); when it did not insert every id (duplicates, or a retry whose first claim ran under another id),
 * one SELECT reads back which ids this load holds. A file without events claims nothing and bills nothing.
 */
export async function claimIds(
  ctx: BigQueryContext,
  hash: string,
  loadId: string,
  dedupWindowMs: number,
  ids: ReadonlyMap<string, IdEntry>,
): Promise<Claim> {
  if (ids.size === 0) return { mine: new Set(), jobs: [] };
  const { projectId, datasetId } = ctx.settings;
  const rows = [...ids]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([eventId, e]) => {
      const at = Date.parse(e.receivedAt);
      return {
        eventId,
        receivedAt: bigQueryTimestamp(new Date(at)),
        dedupFrom: bigQueryTimestamp(new Date(at - dedupWindowMs)),
        at,
      };
    });
  const windowStart = bigQueryTimestamp(new Date(Math.min(...rows.map((r) => r.at)) - dedupWindowMs));
  const digest = createHash('sha256')
    .update(loadId)
    .update(rows.map((r) => `${r.eventId}\u0000${r.receivedAt}`).join('\u0001'))
    .digest('hex')
    .slice(0, 16);
  const param = idsParam(rows);
  const jobs: JobResult[] = [];
  let source: IdsSource = { kind: 'param' };
  if (JSON.stringify(param).length > ctx.settings.claimParamMaxBytes) {
    source = { kind: 'table', table: await stageIds(ctx, hash, rows, jobs) };
  }
  const common = [
    stringParam('load_id', loadId),
    stringParam('window_start', windowStart),
    stringParam('lock_id', CLAIM_LOCK.id),
    stringParam('lock_at', CLAIM_LOCK.receivedAt),
  ];
  const claim = await ctx.jobs.run(
    `sluice_claim_${hash}_${digest}`,
    {
      query: {
        query: claimSql(projectId, datasetId, source),
        useLegacySql: false,
        parameterMode: 'NAMED',
        queryParameters: source.kind === 'param' ? [...common, param] : common,
      },
    },
    ctx.policy(),
  );
  jobs.push(claim);
  const stats = claim.statistics.query?.dmlStats;
  if (Number(stats?.updatedRowCount ?? 0) === 0) {
    ctx.logger?.warn('the claim lock row is missing (a dataset from before it existed): creating it');
    await ensureClaimLock(ctx);
  }
  if (Number(stats?.insertedRowCount ?? -1) === ids.size) return { mine: new Set(ids.keys()), jobs };
  const read = await ctx.jobs.run(
    `sluice_mine_${hash}_${randomUUID().replaceAll('-', '')}`,
    {
      query: {
        query: mineSql(projectId, datasetId),
        useLegacySql: false,
        parameterMode: 'NAMED',
        queryParameters: common,
      },
    },
    ctx.policy(),
  );
  jobs.push(read);
  const held = await ctx.jobs.rows(read.jobId, ctx.policy());
  const mine = new Set<string>();
  for (const r of held) if (ids.has(String(r.id))) mine.add(String(r.id));
  return { mine, jobs };
}

/** Large files: the ids go to a staging table by a load job (free) and the claim reads it (+10 MB). */
async function stageIds(
  ctx: BigQueryContext,
  hash: string,
  rows: readonly { eventId: string; receivedAt: string; dedupFrom: string }[],
  jobs: JobResult[],
): Promise<string> {
  const { projectId, datasetId, stagingBucket, stagingPrefix } = ctx.settings;
  const table = `${STAGING_TABLE_PREFIX}${hash}_ids`;
  const object = `${stagingPrefix}${hash}/ids.ndjson`;
  const body = rows
    .map((r) => JSON.stringify({ event_id: r.eventId, received_at: r.receivedAt, dedup_from: r.dedupFrom }))
    .join('\n');
  await withRetry(ctx.policy(), `upload ${object}`, () =>
    ctx.storage.bucket(stagingBucket).file(object).save(`${body}\n`, { resumable: false }),
  );
  const fields = [
    { name: 'event_id', type: 'STRING', mode: 'NULLABLE' as const },
    { name: 'received_at', type: 'TIMESTAMP', mode: 'NULLABLE' as const },
    { name: 'dedup_from', type: 'TIMESTAMP', mode: 'NULLABLE' as const },
  ];
  const staging = await ensureTable(ctx, table, fields, {
    expirationTime: String(ctx.now() + ctx.settings.stagingTableTtlMs),
  });
  jobs.push(
    await ctx.jobs.run(
      `sluice_ids_${hash}_${idFragment(String(staging.creationTime), 40)}`,
      {
        load: {
          sourceUris: [`gs://${stagingBucket}/${object}`],
          sourceFormat: 'NEWLINE_DELIMITED_JSON',
          destinationTable: { projectId, datasetId, tableId: table },
          schema: { fields },
          writeDisposition: 'WRITE_TRUNCATE',
        },
      },
      ctx.policy(),
    ),
  );
  return table;
}

/** Appends the claim lock row (a load job: free; one deterministic id per dataset, so only once). */
export async function ensureClaimLock(ctx: BigQueryContext): Promise<void> {
  const { projectId, datasetId, stagingBucket, stagingPrefix } = ctx.settings;
  const object = `${stagingPrefix}claim-lock.ndjson`;
  const row = { id: CLAIM_LOCK.id, received_at: CLAIM_LOCK.receivedAt, load_id: '' };
  await withRetry(ctx.policy(), `upload ${object}`, () =>
    ctx.storage
      .bucket(stagingBucket)
      .file(object)
      .save(`${JSON.stringify(row)}\n`, { resumable: false }),
  );
  await ctx.jobs.run(
    `sluice_claimlock_${idFragment(datasetId, 200)}`,
    {
      load: {
        sourceUris: [`gs://${stagingBucket}/${object}`],
        sourceFormat: 'NEWLINE_DELIMITED_JSON',
        destinationTable: { projectId, datasetId, tableId: '_sluice_event_ids' },
        writeDisposition: 'WRITE_APPEND',
        createDisposition: 'CREATE_NEVER',
      },
    },
    ctx.policy(),
  );
}
