import { createHash } from 'node:crypto';
import { LoaderError } from '../../errors.ts';
import { UPSERT_TABLES, upsertTableNamed } from '../../schema/upsert-tables.ts';
import { BOOKKEEPING_SCHEMAS, failedEventColumns, ROW_META_COLUMNS } from '../bookkeeping-tables.ts';
import {
  type CellValue,
  completeLoadRecord,
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
import { type Attempt, dropAttempt, readMarker, writeMarker } from './attempt-record.ts';
import type { BigQueryContext } from './bigquery-context.ts';
import { claimIds, type IdEntry } from './claim.ts';
import type { JobResult } from './job-runner.ts';
import { loadsRow, schemaChangeRow } from './loads-row.ts';
import { withRetry } from './retry.ts';
import { applySchemaChanges, columnTypes, tableFields } from './schema-ops.ts';
import { idFragment, loadHash, plainLine, stagedLine } from './staging.ts';
import { appendTable, type FilteredTable, filterTable, type TableAppend } from './table-appends.ts';
import { layoutFor, STAGE_COLUMNS, STAGING_TABLE_PREFIX, toFields } from './table-layout.ts';
import { refreshUpsertIfDue, UPSERT_LOG_COLUMNS, UPSERT_LOG_FIELDS, upsertLog } from './upsert-refresh.ts';

/** The key under which the loads row's object is staged (after the tables were filtered). */
const LOADS_ROW = 'loads_row';

interface StagedTable {
  objects: string[];
  kind: 'event' | 'copy';
}

/**
 * One file load against BigQuery, at a query cost that does not grow with the number of tables:
 * 1. schema changes apply to the target tables at once (additive, harmless if the load never completes);
 * 2. each batch of rows is uploaded as an NDJSON object under the load's staging prefix (memory = one batch);
 * 3. commit:
 *    a. CLAIM (claim.ts): one MERGE into the event-id index inserts the file's ids not seen within the look-back
 *       window, under this load's id, and updates the claim lock, so concurrent claims never both keep an id;
 *    b. each table's surviving rows are appended by a LOAD JOB (free) with a deterministic id (table-appends.ts);
 *       an upsert table's rows (identifies: `users`, groups: `accounts`) go to its log, and the table is
 *       refreshed from it when due (upsert-refresh.ts);
 *    c. the loads row is appended LAST (a load job too): it is the file's completion mark, with the bytes billed
 *       and the job ids; then a completion marker object, then the staging objects and tables are deleted.
 * Readers may see a file's tables fill one after the other during (b); a file is complete when its loads row is.
 * Every delivery of one load key shares its first delivery's load id (attempt-record.ts), so a retry after a
 * crash at any point re-derives the same claims, rows and job ids, and adds nothing twice.
 */
export class BigQueryLoadSession implements LoadSession {
  readonly #ctx: BigQueryContext;
  readonly #meta: LoadMeta;
  readonly #schema: WarehouseSchema;
  readonly #hash: string;
  readonly #attempt: Attempt;
  readonly #staged = new Map<string, StagedTable>();
  /** Lowest line and received_at per event id (the claim's input). */
  readonly #ids = new Map<string, IdEntry>();
  readonly #jobs: JobResult[] = [];
  #claimStarted = false;

  constructor(
    ctx: BigQueryContext,
    meta: LoadMeta,
    schema: WarehouseSchema,
    attempt: Attempt,
    prior: readonly JobResult[],
  ) {
    this.#ctx = ctx;
    this.#meta = meta;
    this.#schema = schema;
    this.#hash = loadHash(meta.loadKey);
    this.#attempt = attempt;
    this.#jobs.push(...prior);
  }

  async applySchemaChanges(changes: readonly SchemaChange[]): Promise<void> {
    if (changes.length === 0) return;
    for (const change of changes) if (change.kind !== 'create_table') await this.#typesOf(change.table);
    await applySchemaChanges(this.#ctx, this.#hash, changes, this.#schema);
    // An upsert table's log follows its INT64 -> FLOAT64 widenings (new columns reach it through its loads).
    for (const upsert of UPSERT_TABLES) {
      const widen = changes.filter((c) => c.kind === 'widen_column' && c.table === upsert.table);
      const logTable = upsertLog(upsert);
      if (widen.length === 0 || !(await tableFields(this.#ctx, logTable))) continue;
      const log = await this.#typesOf(logTable);
      await applySchemaChanges(
        this.#ctx,
        this.#hash,
        widen.map((c) => ({ ...c, table: logTable })),
        new Map([[logTable, log ?? new Map()]]),
      );
    }
  }

  async appendRows(table: string, rows: readonly StagedRow[]): Promise<void> {
    if (rows.length === 0) return;
    const types = await this.#typesOf(table);
    const overrides: Record<string, CellValue> = {
      [ROW_META_COLUMNS.loadId]: this.#attempt.loadId,
      [ROW_META_COLUMNS.loadedAt]: this.#attempt.startedAt.toISOString(),
    };
    const lines: string[] = [];
    for (const row of rows) {
      lines.push(stagedLine(row, types, this.#meta.dedupWindowMs, overrides));
      const known = this.#ids.get(row.eventId);
      if (!known || row.line < known.line)
        this.#ids.set(row.eventId, { line: row.line, receivedAt: row.receivedAt });
    }
    await this.#upload(table, 'event', lines);
  }

  async appendFailed(failures: readonly FailedEvent[]): Promise<void> {
    if (failures.length === 0) return;
    const lines = failures.map((f) =>
      plainLine({
        load_id: this.#attempt.loadId,
        load_key: this.#meta.loadKey,
        bucket: this.#meta.bucket,
        name: this.#meta.name,
        generation: this.#meta.generation,
        ...failedEventColumns(f),
        loaded_at: this.#attempt.startedAt.toISOString(),
      }),
    );
    await this.#upload(TABLES.failedEvents, 'copy', lines);
  }

  async commit(summary: LoadSummary): Promise<LoadRecord> {
    const ctx = this.#ctx;
    const done = await readMarker(ctx, this.#hash);
    if (done) {
      await this.#cleanup(true);
      return done;
    }
    if (summary.schemaChanges.length > 0) {
      const at = this.#attempt.startedAt.toISOString();
      const rows = summary.schemaChanges.map((c) => plainLine(schemaChangeRow(this.#attempt.loadId, c, at)));
      await this.#upload(TABLES.schemaChanges, 'copy', rows);
    }
    // a. The claim.
    this.#claimStarted = true;
    const claim = await claimIds(ctx, this.#hash, this.#attempt.loadId, this.#meta.dedupWindowMs, this.#ids);
    this.#jobs.push(...claim.jobs);
    const survives = (eventId: string, line: number): boolean =>
      claim.mine.has(eventId) && this.#ids.get(eventId)?.line === line;

    // b. Surviving rows, one table after the other, then the budget, then the load jobs.
    const filtered: FilteredTable[] = [];
    const out = `${this.#objectPrefix()}final/`;
    for (const [table, staged] of [...this.#staged].sort(([a], [b]) => a.localeCompare(b))) {
      filtered.push(await filterTable(ctx, await this.#appendOf(table, staged), out, survives));
    }
    const partitions = filtered.reduce((n, f) => n + f.partitions, 0);
    if (partitions > ctx.settings.maxPartitionsPerFile) {
      throw new LoaderError(
        'SLUICE_ERR_LOAD_DESTINATION_REJECTED',
        `load ${this.#meta.loadKey} would modify ${partitions} partitions, above the per-file budget of ${ctx.settings.maxPartitionsPerFile} (BigQuery allows 30,000 partition modifications per table per day)`,
      );
    }
    for (const f of filtered)
      this.#jobs.push(...(await appendTable(ctx, this.#hash, this.#attempt.loadId, f)));
    for (const upsert of UPSERT_TABLES) {
      if (!this.#staged.has(upsert.table)) continue;
      // The columns both tables have: a column whose first rows have not reached the log yet (a crashed load)
      // must not break the refresh of every other id.
      const types = await this.#typesOf(upsert.table);
      const logFields = (await tableFields(ctx, upsertLog(upsert))) ?? [];
      const log = new Set(logFields.map((f) => f.name.toLowerCase()));
      const columns = [...(types?.keys() ?? [])].filter((c) => log.has(c.toLowerCase()));
      const refreshed = columns.includes(upsert.key)
        ? await refreshUpsertIfDue(ctx, upsert, columns)
        : undefined;
      if (refreshed) this.#jobs.push(refreshed);
    }

    // c. The loads row, last.
    const written = filtered.filter((f) => f.append.kind === 'event').reduce((n, f) => n + f.rows, 0);
    const row = loadsRow({
      meta: this.#meta,
      attempt: this.#attempt,
      summary,
      eventsLoaded: claim.mine.size,
      rowsWritten: written,
      loadedAt: new Date(ctx.now()),
      jobs: this.#jobs,
    });
    const types = new Map(loadsColumns().map((c) => [c.name, c.type]));
    await this.#upload(LOADS_ROW, 'copy', [plainLine(row, types)]);
    const mark = createHash('sha256').update(this.#attempt.loadId).digest('hex').slice(0, 16);
    const loadsFields = (await tableFields(ctx, TABLES.loads)) ?? [];
    await appendTable(ctx, this.#hash, mark, {
      append: {
        table: TABLES.loads,
        objects: [],
        kind: 'copy',
        fields: mergeFields(loadsFields, toFields(loadsColumns())),
        layout: {},
      },
      groups: [this.#staged.get(LOADS_ROW)?.objects ?? []],
      partitions: 1,
      rows: 1,
    });
    const record = completeLoadRecord(
      row,
      this.#attempt.startedAt,
      summary.finishedAt,
      summary.schemaChanges,
    );
    await writeMarker(ctx, this.#hash, record);
    await this.#cleanup(true);
    return record;
  }

  async abort(): Promise<void> {
    // A claim may have run: keep the attempt record, so the retry adopts this load id and its claims.
    await this.#cleanup(!this.#claimStarted && !this.#attempt.adopted);
  }

  async #appendOf(table: string, staged: StagedTable): Promise<TableAppend> {
    if (staged.kind === 'copy') {
      const columns = BOOKKEEPING_SCHEMAS[table] ?? [];
      return {
        table,
        objects: staged.objects,
        kind: 'copy',
        fields: toFields(columns),
        layout: layoutFor(table, columns),
      };
    }
    const types = await this.#typesOf(table);
    if (!types)
      throw new LoaderError('SLUICE_ERR_LOAD_DESTINATION_REJECTED', `rows staged for unknown table ${table}`);
    const columns = [...types].map(([name, type]) => ({ name, type }));
    const fields = toFields(columns);
    const upsert = upsertTableNamed(table);
    if (upsert === undefined)
      return { table, objects: staged.objects, kind: 'event', fields, layout: layoutFor(table, columns) };
    const loggedAt = new Date(this.#ctx.now()).toISOString();
    return {
      table,
      target: upsertLog(upsert),
      objects: staged.objects,
      kind: 'event',
      fields: [...fields, ...UPSERT_LOG_FIELDS],
      // Kept 30 days: a refresh reads the rows since the previous one, never the whole history.
      layout: {
        timePartitioning: {
          type: 'DAY',
          field: UPSERT_LOG_COLUMNS.loggedAt,
          expirationMs: String(30 * 86_400_000),
        },
      },
      shape: (row) => ({
        ...row,
        [UPSERT_LOG_COLUMNS.line]: row[STAGE_COLUMNS.line],
        [UPSERT_LOG_COLUMNS.receivedAt]: row[STAGE_COLUMNS.receivedAt],
        [UPSERT_LOG_COLUMNS.loggedAt]: loggedAt,
      }),
    };
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

  #objectPrefix(): string {
    return `${this.#ctx.settings.stagingPrefix}${this.#hash}/`;
  }

  async #upload(table: string, kind: StagedTable['kind'], lines: string[]): Promise<void> {
    const staged = this.#staged.get(table) ?? { objects: [], kind };
    this.#staged.set(table, staged);
    const name = `${this.#objectPrefix()}staged/${idFragment(table, 400)}/${String(staged.objects.length).padStart(6, '0')}.ndjson`;
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

  /**
   * Best effort: staging objects (the attempt record only when `dropAttemptRecord`) and the ids staging table;
   * both also expire by themselves. A failure is only logged.
   */
  async #cleanup(dropAttemptRecord: boolean): Promise<void> {
    const { bigquery, storage, settings, logger } = this.#ctx;
    this.#staged.clear();
    try {
      await bigquery
        .dataset(settings.datasetId)
        .table(`${STAGING_TABLE_PREFIX}${this.#hash}_ids`)
        .delete({ ignoreNotFound: true });
    } catch (error) {
      logger?.warn({ err: error }, 'could not delete the ids staging table (it expires by itself)');
    }
    try {
      const [files] = await storage
        .bucket(settings.stagingBucket)
        .getFiles({ prefix: this.#objectPrefix(), autoPaginate: true });
      const attempt = `${this.#objectPrefix()}attempt.json`;
      await Promise.all(
        files.filter((f) => f.name !== attempt).map((f) => f.delete({ ignoreNotFound: true })),
      );
      if (dropAttemptRecord) await dropAttempt(this.#ctx, this.#hash);
    } catch (error) {
      logger?.warn({ err: error, prefix: this.#objectPrefix() }, 'could not delete staging objects');
    }
  }
}

/** The loads table's columns on BigQuery: the shared layout plus what a live project needs to see its bill. */
export function loadsColumns(): { name: string; type: LogicalType }[] {
  return [
    ...(BOOKKEEPING_SCHEMAS[TABLES.loads] ?? []),
    { name: 'bytes_billed', type: 'INT64' },
    { name: 'bytes_processed', type: 'INT64' },
    { name: 'job_ids', type: 'JSON' },
  ];
}

/** The existing fields first (a load job's schema may add fields, never drop or reorder them), then new ones. */
function mergeFields<T extends { name: string }>(existing: readonly T[], wanted: readonly T[]): T[] {
  const names = new Set(existing.map((f) => f.name.toLowerCase()));
  return [...existing, ...wanted.filter((f) => !names.has(f.name.toLowerCase()))];
}
