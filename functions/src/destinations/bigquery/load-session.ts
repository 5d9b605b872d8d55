import { LoaderError } from '../../errors.ts';
import { BOOKKEEPING_SCHEMAS, failedEventColumns } from '../bookkeeping-tables.ts';
import {
  type CellValue,
  type FailedEvent,
  type LoadMeta,
  type LoadRecord,
  type LoadSession,
  type LoadSummary,
  type LogicalType,
  type SchemaChange,
  type StagedRow,
  TABLES,
  type WarehouseSchema,
} from '../destination.ts';
import type { BigQueryContext } from './bigquery-context.ts';
import { commitScript, intParam, type StagedTarget, stringParam } from './commit-sql.ts';
import { findLoad } from './find-load.ts';
import { withRetry } from './retry.ts';
import { applySchemaChanges, columnTypes, ensureTable, tableFields } from './schema-ops.ts';
import { bigQueryTimestamp, idFragment, loadHash, plainLine, stagedLine } from './staging.ts';
import { type BigQueryField, STAGE_FIELDS, STAGING_TABLE_PREFIX, toFields } from './table-layout.ts';

interface StagedTable {
  objects: string[];
  kind: 'event' | 'copy';
}

/**
 * One file load against BigQuery:
 * 1. schema changes apply to the target tables at once (additive, harmless if the load never commits);
 * 2. each batch of rows is uploaded as an NDJSON object under the staging prefix (memory = one batch);
 * 3. commit: per table, a staging table (expiring) is filled by a LOAD JOB (free; deterministic job id) from those
 *    objects; then ONE multi-statement transaction de-duplicates, inserts, upserts users and writes the loads row;
 *    the bytes it processed are recorded on the loads row; staging tables and objects are deleted.
 * Every job id derives from the load key, so a redelivery after a crash at any point finds the jobs that already
 * ran (409 -> look up) instead of running them twice, and the transaction's load-key guard makes a second commit
 * a no-op.
 */
export class BigQueryLoadSession implements LoadSession {
  readonly #ctx: BigQueryContext;
  readonly #meta: LoadMeta;
  readonly #schema: WarehouseSchema;
  readonly #hash: string;
  readonly #staged = new Map<string, StagedTable>();
  #windowStart: number | undefined;

  constructor(ctx: BigQueryContext, meta: LoadMeta, schema: WarehouseSchema) {
    this.#ctx = ctx;
    this.#meta = meta;
    this.#schema = schema;
    this.#hash = loadHash(meta.loadKey);
  }

  async applySchemaChanges(changes: readonly SchemaChange[]): Promise<void> {
    if (changes.length === 0) return;
    for (const change of changes) if (change.kind !== 'create_table') await this.#typesOf(change.table);
    await applySchemaChanges(this.#ctx, this.#hash, changes, this.#schema);
  }

  async appendRows(table: string, rows: readonly StagedRow[]): Promise<void> {
    if (rows.length === 0) return;
    const types = await this.#typesOf(table);
    const lines: string[] = [];
    for (const row of rows) {
      lines.push(stagedLine(row, types, this.#meta.dedupWindowMs));
      const from = Date.parse(row.receivedAt) - this.#meta.dedupWindowMs;
      if (this.#windowStart === undefined || from < this.#windowStart) this.#windowStart = from;
    }
    await this.#upload(table, 'event', lines);
  }

  async appendFailed(failures: readonly FailedEvent[]): Promise<void> {
    if (failures.length === 0) return;
    const loadedAt = this.#meta.startedAt.toISOString();
    const lines = failures.map((f) =>
      plainLine({
        load_id: this.#meta.loadId,
        load_key: this.#meta.loadKey,
        bucket: this.#meta.bucket,
        name: this.#meta.name,
        generation: this.#meta.generation,
        ...failedEventColumns(f),
        loaded_at: loadedAt,
      }),
    );
    await this.#upload(TABLES.failedEvents, 'copy', lines);
  }

  async commit(summary: LoadSummary): Promise<LoadRecord> {
    const ctx = this.#ctx;
    const { projectId, datasetId } = ctx.settings;
    if (summary.schemaChanges.length > 0) {
      const changedAt = this.#meta.startedAt.toISOString();
      await this.#upload(
        TABLES.schemaChanges,
        'copy',
        summary.schemaChanges.map((c) => plainLine(schemaChangeRow(this.#meta.loadId, c, changedAt))),
      );
    }
    // 1. Load jobs into staging tables.
    const events: StagedTarget[] = [];
    const copies: StagedTarget[] = [];
    let users: StagedTarget | undefined;
    const loads = [...this.#staged].map(async ([table, staged]) => {
      const columns = await this.#columnsOf(table);
      const stagingTable = this.#stagingTable(table);
      const fields: BigQueryField[] = [
        ...toFields([...columns].map(([name, type]) => ({ name, type }))),
        ...(staged.kind === 'event' ? STAGE_FIELDS : []),
      ];
      const staging = await ensureTable(ctx, stagingTable, fields, {
        expirationTime: String(ctx.now() + ctx.settings.stagingTableTtlMs),
      });
      // The job id names the load key, the table AND this incarnation of the staging table: a redelivery that
      // finds the staging table of a crashed attempt finds its load job too (409 -> reuse, no double append);
      // one that finds it gone (aborted, expired) re-creates it and must load again under a new id.
      await ctx.jobs.run(
        `sluice_load_${this.#hash}_${idFragment(table, 150)}_${staging.creationTime}`,
        {
          load: {
            sourceUris: staged.objects.map((o) => `gs://${ctx.settings.stagingBucket}/${o}`),
            sourceFormat: 'NEWLINE_DELIMITED_JSON',
            destinationTable: { projectId, datasetId, tableId: stagingTable },
            schema: { fields },
            createDisposition: 'CREATE_IF_NEEDED',
            writeDisposition: 'WRITE_APPEND',
            schemaUpdateOptions: ['ALLOW_FIELD_ADDITION'],
            ignoreUnknownValues: false,
            maxBadRecords: 0,
          },
        },
        ctx.policy(),
      );
      const target: StagedTarget = { table, stagingTable, columns: [...columns.keys()] };
      if (staged.kind === 'copy') copies.push(target);
      else if (table === TABLES.users) users = target;
      else events.push(target);
    });
    await Promise.all(loads);
    events.sort((a, b) => a.table.localeCompare(b.table));
    copies.sort((a, b) => a.table.localeCompare(b.table));

    // 2. The commit transaction.
    const sql = commitScript({ projectId, datasetId, events, ...(users ? { users } : {}), copies });
    const windowStart = new Date(this.#windowStart ?? summary.finishedAt.getTime());
    const params = [
      stringParam('load_key', this.#meta.loadKey),
      stringParam('load_id', this.#meta.loadId),
      stringParam('bucket', this.#meta.bucket),
      stringParam('name', this.#meta.name),
      stringParam('generation', this.#meta.generation),
      stringParam('window_start', bigQueryTimestamp(windowStart)),
      stringParam('started_at', bigQueryTimestamp(this.#meta.startedAt)),
      stringParam('finished_at', bigQueryTimestamp(summary.finishedAt)),
      stringParam('loaded_at', bigQueryTimestamp(new Date(ctx.now()))),
      intParam('duration_ms', Math.max(0, summary.finishedAt.getTime() - this.#meta.startedAt.getTime())),
      intParam('lines_read', summary.linesRead),
      intParam('bytes_read', summary.bytesRead),
      intParam('events_staged', summary.eventsStaged),
      intParam('failed', summary.failed),
      intParam('values_discarded', summary.valuesDiscarded),
      stringParam('schema_changes', JSON.stringify(summary.schemaChanges)),
    ];
    const committed = await ctx.jobs.run(
      `sluice_commit_${this.#hash}`,
      { query: { query: sql, useLegacySql: false, parameterMode: 'NAMED', queryParameters: params } },
      ctx.policy(),
    );
    const bytes =
      committed.statistics.query?.totalBytesProcessed ?? committed.statistics.totalBytesProcessed ?? '0';

    // 3. Bytes processed by the commit, on the loads row (a tiny DML on a table clustered by load_key).
    await ctx.jobs.run(
      `sluice_bytes_${this.#hash}`,
      {
        query: {
          query: `UPDATE \`${projectId}.${datasetId}.${TABLES.loads}\` SET bytes_processed = @bytes WHERE load_key = @load_key AND load_id = @load_id`,
          useLegacySql: false,
          parameterMode: 'NAMED',
          queryParameters: [
            intParam('bytes', BigInt(bytes)),
            stringParam('load_key', this.#meta.loadKey),
            stringParam('load_id', this.#meta.loadId),
          ],
        },
      },
      ctx.policy(),
    );
    const record = await findLoad(ctx, this.#meta.loadKey);
    if (!record) {
      throw new LoaderError(
        'SLUICE_ERR_LOAD_DESTINATION_UNAVAILABLE',
        `load ${this.#meta.loadKey} not visible after commit`,
      );
    }
    await this.#cleanup();
    return record;
  }

  async abort(): Promise<void> {
    await this.#cleanup();
  }

  async #columnsOf(table: string): Promise<Map<string, LogicalType>> {
    const bookkeeping = BOOKKEEPING_SCHEMAS[table];
    if (bookkeeping) return new Map(bookkeeping.map((c) => [c.name, c.type]));
    const columns = await this.#typesOf(table);
    if (!columns)
      throw new LoaderError('SLUICE_ERR_LOAD_DESTINATION_REJECTED', `rows staged for unknown table ${table}`);
    return columns;
  }

  /** The table's columns: from the schema read before the load, else fetched once (a table made by another load). */
  async #typesOf(table: string): Promise<Map<string, LogicalType> | undefined> {
    const known = this.#schema.get(table);
    if (known) return known;
    const fields = await tableFields(this.#ctx, table);
    if (!fields) return undefined;
    const columns = columnTypes(fields);
    this.#schema.set(table, columns);
    return columns;
  }

  #stagingTable(table: string): string {
    return `${STAGING_TABLE_PREFIX}${this.#hash}_${idFragment(table, 900)}`;
  }

  #objectPrefix(): string {
    return `${this.#ctx.settings.stagingPrefix}${this.#hash}/`;
  }

  async #upload(table: string, kind: StagedTable['kind'], lines: string[]): Promise<void> {
    const staged = this.#staged.get(table) ?? { objects: [], kind };
    this.#staged.set(table, staged);
    const name = `${this.#objectPrefix()}${idFragment(table, 400)}/${String(staged.objects.length).padStart(6, '0')}.ndjson`;
    staged.objects.push(name);
    const body = Buffer.from(`${lines.join('\n')}\n`);
    const result = await withRetry(
      this.#ctx.policy(),
      `upload gs://${this.#ctx.settings.stagingBucket}/${name}`,
      () =>
        this.#ctx.storage
          .bucket(this.#ctx.settings.stagingBucket)
          .file(name)
          .save(body, { resumable: false, contentType: 'application/x-ndjson' }),
    );
    if (!result.ok) {
      throw new LoaderError(
        'SLUICE_ERR_LOAD_DESTINATION_REJECTED',
        `staging bucket ${this.#ctx.settings.stagingBucket} not found`,
      );
    }
  }

  /** Best effort: staging tables also expire and objects can carry a lifecycle rule; a failure is only logged. */
  async #cleanup(): Promise<void> {
    const { bigquery, storage, settings, logger } = this.#ctx;
    const tables = [...this.#staged.keys()].map((t) => this.#stagingTable(t));
    this.#staged.clear();
    await Promise.all(
      tables.map(async (t) => {
        try {
          await bigquery.dataset(settings.datasetId).table(t).delete({ ignoreNotFound: true });
        } catch (error) {
          logger?.warn({ err: error, table: t }, 'could not delete staging table (it expires by itself)');
        }
      }),
    );
    try {
      const [files] = await storage
        .bucket(settings.stagingBucket)
        .getFiles({ prefix: this.#objectPrefix(), autoPaginate: true });
      await Promise.all(files.map((f) => f.delete({ ignoreNotFound: true })));
    } catch (error) {
      logger?.warn({ err: error, prefix: this.#objectPrefix() }, 'could not delete staging objects');
    }
  }
}

function schemaChangeRow(loadId: string, change: SchemaChange, changedAt: string): Record<string, CellValue> {
  switch (change.kind) {
    case 'create_table':
      return {
        load_id: loadId,
        table_name: change.table,
        column_name: null,
        change: 'create_table',
        from_type: null,
        to_type: null,
        changed_at: changedAt,
      };
    case 'add_column':
      return {
        load_id: loadId,
        table_name: change.table,
        column_name: change.column,
        change: 'add_column',
        from_type: null,
        to_type: change.type,
        changed_at: changedAt,
      };
    case 'widen_column':
      return {
        load_id: loadId,
        table_name: change.table,
        column_name: change.column,
        change: 'widen_column',
        from_type: change.from,
        to_type: change.to,
        changed_at: changedAt,
      };
    default: {
      const never: never = change;
      return never;
    }
  }
}
