import { createHash } from 'node:crypto';
import { LoaderError } from '../../errors.ts';
import type { BigQueryContext } from './bigquery-context.ts';
import type { JobResult } from './job-runner.ts';
import { withRetry } from './retry.ts';
import { idFragment } from './staging.ts';
import { type BigQueryField, STAGE_COLUMNS, type TableLayout } from './table-layout.ts';

/** One table's part of the load: staged objects in, surviving rows out, appended by load jobs. */
export interface TableAppend {
  table: string;
  /** Staged objects (event rows carry the stage columns; copies are appended as they are). */
  objects: readonly string[];
  kind: 'event' | 'copy';
  /** Target fields of the load job (the table's columns). */
  fields: BigQueryField[];
  layout: TableLayout;
  /** Rewrites a surviving row for its target (e.g. the users log adds its own columns). */
  shape?: (row: Record<string, unknown>) => Record<string, unknown>;
  /** Load into another table than `table` (the users log), created on first use. */
  target?: string;
}

/** The filtered output of one table: objects per partition group (each group <= `partitionsPerJob` partitions). */
export interface FilteredTable {
  append: TableAppend;
  groups: string[][];
  partitions: number;
  rows: number;
}

const dayOf = (value: unknown): string =>
  typeof value === 'string' || typeof value === 'number'
    ? new Date(value).toISOString().slice(0, 10)
    : 'NULL';

/**
 * Reads each staged object of an event table back (one batch in memory at a time), keeps the rows whose
 * (event id, line) survived the claim, drops the stage columns and writes them to `<out>/<group>/<n>.ndjson`,
 * one group per at most `partitionsPerJob` partitions of the target (assigned in order: deterministic).
 */
export async function filterTable(
  ctx: BigQueryContext,
  append: TableAppend,
  outPrefix: string,
  survives: (eventId: string, line: number) => boolean,
): Promise<FilteredTable> {
  const bucket = ctx.storage.bucket(ctx.settings.stagingBucket);
  const field = append.layout.timePartitioning?.field;
  const groupOf = new Map<string, number>();
  const groups: string[][] = [];
  let rows = 0;
  for (const [n, object] of append.objects.entries()) {
    const got = await withRetry(ctx.policy(), `download ${object}`, () => bucket.file(object).download());
    if (!got.ok)
      throw new LoaderError('SLUICE_ERR_LOAD_DESTINATION_UNAVAILABLE', `staged ${object} vanished`);
    const [data] = got.value;
    const out = new Map<number, string[]>();
    for (const line of data.toString('utf8').split('\n')) {
      if (line === '') continue;
      let row = JSON.parse(line) as Record<string, unknown>;
      if (append.kind === 'event') {
        if (!survives(String(row[STAGE_COLUMNS.eventId]), Number(row[STAGE_COLUMNS.line]))) continue;
        if (append.shape) row = append.shape(row);
        for (const c of Object.values(STAGE_COLUMNS)) delete row[c];
      }
      const day = field === undefined ? 'ALL' : dayOf(row[field]);
      let group = groupOf.get(day);
      if (group === undefined) {
        group = Math.floor(groupOf.size / ctx.settings.partitionsPerJob);
        groupOf.set(day, group);
      }
      const lines = out.get(group) ?? [];
      lines.push(JSON.stringify(row));
      out.set(group, lines);
      rows++;
    }
    for (const [group, lines] of out) {
      const name = `${outPrefix}${idFragment(append.table, 400)}/${group}/${String(n).padStart(6, '0')}.ndjson`;
      const saved = await withRetry(ctx.policy(), `upload ${name}`, () =>
        bucket
          .file(name)
          .save(`${lines.join('\n')}\n`, { resumable: false, contentType: 'application/x-ndjson' }),
      );
      if (!saved.ok) throw new LoaderError('SLUICE_ERR_LOAD_DESTINATION_REJECTED', `cannot write ${name}`);
      while (groups.length <= group) groups.push([]);
      groups[group]!.push(name);
    }
  }
  return { append, groups, partitions: field === undefined ? (rows > 0 ? 1 : 0) : groupOf.size, rows };
}

/**
 * Appends a filtered table with one load job per partition group (free). The job id is deterministic for (load
 * key, load id, table, group) — a retried delivery adopts the first one's load id, so it finds the job that
 * already ran (409 -> the original) instead of appending twice; a job an earlier delivery left FAILED is stepped
 * over (job-runner.ts), so a replay after the cause was fixed appends exactly once.
 */
export async function appendTable(
  ctx: BigQueryContext,
  hash: string,
  loadId: string,
  filtered: FilteredTable,
): Promise<JobResult[]> {
  const { projectId, datasetId, stagingBucket } = ctx.settings;
  const { append } = filtered;
  const tableId = append.target ?? append.table;
  const results: JobResult[] = [];
  for (const [group, objects] of filtered.groups.entries()) {
    if (objects.length === 0) continue;
    const key = createHash('sha256').update(`${loadId}|${append.table}|${group}`).digest('hex').slice(0, 16);
    results.push(
      await ctx.jobs.run(
        `sluice_append_${hash}_${idFragment(append.table, 150)}_${key}`,
        {
          load: {
            sourceUris: objects.map((o) => `gs://${stagingBucket}/${o}`),
            sourceFormat: 'NEWLINE_DELIMITED_JSON',
            destinationTable: { projectId, datasetId, tableId },
            schema: { fields: append.fields },
            createDisposition: append.target ? 'CREATE_IF_NEEDED' : 'CREATE_NEVER',
            writeDisposition: 'WRITE_APPEND',
            schemaUpdateOptions: ['ALLOW_FIELD_ADDITION'],
            ...(append.target ? append.layout : {}),
            ignoreUnknownValues: false,
            maxBadRecords: 0,
          },
        },
        ctx.policy(),
      ),
    );
  }
  return results;
}
