import { randomUUID } from 'node:crypto';
import type { BigQueryContext } from '../destinations/bigquery/bigquery-context.ts';
import type { JobResult } from '../destinations/bigquery/job-runner.ts';
import { ensureTable, listTables, readWarehouseSchema } from '../destinations/bigquery/schema-ops.ts';
import { layoutFor, toFields } from '../destinations/bigquery/table-layout.ts';
import type { CellValue, ColumnSchema } from '../destinations/destination.ts';
import { idsParam, rowsParam, stringParams, stringsParam, text } from './bigquery-params.ts';
import { bigQueryStateCell } from './bigquery-state.ts';
import { bigQueryViews } from './bigquery-views.ts';
import { compactionSql, logIdsSql, type SqlDialect, sliceParams, sliceWhere } from './compaction-sql.ts';
import type { GraphEdge, IdentityResult } from './compute.ts';
import { compactCells, logCells } from './edges.ts';
import { chunks, distinctOverChunks, isoOfMicros, timestampMicros } from './store-support.ts';
import {
  EDGE_COLUMNS,
  EDGE_SOURCE_TABLES,
  type EdgeKind,
  IDENTITY_TABLES,
  type IdRef,
  LOG_COLUMNS,
  MAP_COLUMNS,
  MERGE_COLUMNS,
} from './tables.ts';
import type { IdentityStore } from './upkeep.ts';

/** Ids per query on BigQuery (one array parameter each; every query bills >= 10 MB per table, so large chunks). */
const BQ_CHUNK = 5000;

const EDGE_SELECT_COLUMNS = `a_type, a_value, b_type, b_value, kind, event_id, ordinal,
  CAST(first_seen AS STRING) AS at, CAST(last_seen AS STRING) AS last`;

function toEdge(row: Record<string, unknown>): GraphEdge {
  return {
    aType: text(row.a_type),
    aValue: text(row.a_value),
    bType: text(row.b_type),
    bValue: text(row.b_value),
    kind: text(row.kind) as EdgeKind,
    eventId: text(row.event_id),
    ordinal: Number(text(row.ordinal)),
    atMicros: timestampMicros(text(row.at)),
    lastMicros: timestampMicros(text(row.last)),
  };
}

const mapCells = (result: IdentityResult): CellValue[][] =>
  result.map.map((m) => [
    m.idType,
    m.idValue,
    m.personId,
    m.userId,
    m.componentId,
    m.firstSeen,
    m.lastSeen,
    m.listed,
  ]);
const mergeCells = (result: IdentityResult): CellValue[][] =>
  result.merges.map((m) => [
    m.componentId,
    m.seq,
    m.action,
    m.personId,
    m.mergedPersonId,
    m.aType,
    m.aValue,
    m.bType,
    m.bValue,
    m.eventId,
    m.timestamp,
  ]);

/**
 * The `IdentityStore` on BigQuery. Reads are query jobs; a whole table is replaced by a LOAD JOB with
 * WRITE_TRUNCATE from one staged NDJSON object (free, atomic per table; the scheduled update and the rebuild);
 * a component's rows (privacy erasure) are replaced in one multi-statement transaction. `billed` collects each
 * query job's bytes billed (the cost test reads it).
 */
export function bigQueryIdentityStore(ctx: BigQueryContext, billed: JobResult[] = []): IdentityStore {
  const { projectId, datasetId, stagingBucket } = ctx.settings;
  const path = (table: string): string => `\`${projectId}.${datasetId}.${table}\``;

  const query = async (
    sql: string,
    params: Record<string, unknown>[] = [],
  ): Promise<Record<string, unknown>[]> => {
    const job = await ctx.jobs.run(
      `sluice_identity_${randomUUID().replaceAll('-', '')}`,
      { query: { query: sql, useLegacySql: false, parameterMode: 'NAMED', queryParameters: params } },
      ctx.policy(),
    );
    billed.push(job);
    return ctx.jobs.rows(job.jobId, ctx.policy());
  };

  const truncateLoad = async (
    table: string,
    columns: readonly ColumnSchema[],
    rows: readonly CellValue[][],
  ) => {
    const name = `${ctx.settings.stagingPrefix ?? ''}identity/${table}-${randomUUID()}.ndjson`;
    const body = rows
      .map((r) => JSON.stringify(Object.fromEntries(columns.map((c, i) => [c.name, r[i] ?? null]))))
      .join('\n');
    const file = ctx.storage.bucket(stagingBucket).file(name);
    await file.save(body.length > 0 ? `${body}\n` : '', {
      resumable: false,
      contentType: 'application/x-ndjson',
    });
    try {
      await ctx.jobs.run(
        `sluice_identity_load_${randomUUID().replaceAll('-', '')}`,
        {
          load: {
            sourceUris: [`gs://${stagingBucket}/${name}`],
            sourceFormat: 'NEWLINE_DELIMITED_JSON',
            destinationTable: { projectId, datasetId, tableId: table },
            schema: { fields: toFields(columns) },
            createDisposition: 'CREATE_IF_NEEDED',
            writeDisposition: 'WRITE_TRUNCATE',
            ignoreUnknownValues: false,
            maxBadRecords: 0,
          },
        },
        ctx.policy(),
      );
    } finally {
      await file.delete({ ignoreNotFound: true }).catch(() => undefined);
    }
  };

  const byIds = async (sql: (v: string) => string, ids: readonly IdRef[]) =>
    ids.length === 0 ? [] : query(sql('UNNEST(@ids)'), [idsParam('ids', ids)]);
  const dialect: SqlDialect = { table: path, param: (name) => `@${name}`, timestamp: 'TIMESTAMP' };

  return {
    async ensure(rules) {
      for (const [table, columns] of [
        [IDENTITY_TABLES.edgeLog, LOG_COLUMNS],
        [IDENTITY_TABLES.edges, EDGE_COLUMNS],
        [IDENTITY_TABLES.map, MAP_COLUMNS],
        [IDENTITY_TABLES.merges, MERGE_COLUMNS],
      ] as const) {
        await ensureTable(ctx, table, toFields(columns), layoutFor(table, columns));
      }
      const existing = new Set(await listTables(ctx));
      for (const view of bigQueryViews(path, existing, rules)) {
        const table = ctx.bigquery.dataset(datasetId).table(view.name);
        if (existing.has(view.name)) {
          const [metadata] = await table.getMetadata();
          if ((metadata as { view?: { query?: string } }).view?.query === view.query) continue;
          // A changed definition (a rule change, `users` appearing): replaced (tables.delete + tables.insert).
          await table.delete({ ignoreNotFound: true });
        }
        await ensureTable(ctx, view.name, [], { view: { query: view.query, useLegacySql: false } });
      }
    },

    async hasLog() {
      return (await listTables(ctx)).includes(IDENTITY_TABLES.edgeLog);
    },

    async logIds(slice) {
      const rows = await query(
        logIdsSql(dialect, sliceWhere(dialect, slice)),
        stringParams(sliceParams(slice)),
      );
      const ids = new Map<string, IdRef>();
      let through: number | undefined;
      for (const r of rows) {
        for (const [t, x] of [
          [r.a_type, r.a_value],
          [r.b_type, r.b_value],
        ])
          ids.set(`${text(t)}\u0000${text(x)}`, { type: text(t), value: text(x) });
        const at = timestampMicros(text(r.through));
        through = through === undefined ? at : Math.max(through, at);
      }
      return { ids: [...ids.values()], through: through === undefined ? undefined : isoOfMicros(through) };
    },

    async *seedPages(slice, size) {
      // The scheduled update's slices are bounded by time; the per-file upkeep, which pages, is DuckDB's.
      yield* chunks((await this.logIds(slice)).ids, size);
    },

    async compact(slice) {
      await query(compactionSql(dialect, sliceWhere(dialect, slice)), stringParams(sliceParams(slice)));
    },

    async distinctOf(column, ids) {
      return distinctOverChunks(
        ids,
        async (part) =>
          (
            await byIds(
              (v) =>
                `SELECT DISTINCT m.${column} AS d FROM ${path(IDENTITY_TABLES.map)} m JOIN ${v} v ON m.id_type = v.t AND m.id_value = v.x`,
              part,
            )
          ).map((r) => text(r.d)),
        BQ_CHUNK,
      );
    },

    async idsOfPersons(personIds) {
      if (personIds.length === 0) return [];
      const rows = await query(
        `SELECT id_type, id_value FROM ${path(IDENTITY_TABLES.map)} WHERE person_id IN (SELECT v FROM UNNEST(@p))`,
        [stringsParam('p', personIds)],
      );
      return rows.map((r) => ({ type: text(r.id_type), value: text(r.id_value) }));
    },

    async membersOf(componentIds) {
      if (componentIds.length === 0) return [];
      const rows = await query(
        `SELECT id_type, id_value FROM ${path(IDENTITY_TABLES.map)} WHERE component_id IN (SELECT v FROM UNNEST(@c))`,
        [stringsParam('c', componentIds)],
      );
      return rows.map((r) => ({ type: text(r.id_type), value: text(r.id_value) }));
    },

    async edgesTouching(ids, limit) {
      const rows = await byIds(
        (v) => `SELECT ${EDGE_SELECT_COLUMNS} FROM ${path(IDENTITY_TABLES.edges)} e
WHERE EXISTS (SELECT 1 FROM ${v} v WHERE (e.a_type = v.t AND e.a_value = v.x) OR (e.b_type = v.t AND e.b_value = v.x))${limit === undefined ? '' : `\nLIMIT ${Math.max(0, Math.floor(limit))}`}`,
        ids,
      );
      return rows.map(toEdge);
    },

    async replaceComponents(componentIds, ids, result) {
      const fresh = [...new Set([...componentIds, ...result.map.map((m) => m.componentId)])];
      const mapCols = MAP_COLUMNS.map((c) => c.name).join(', ');
      const mergeCols = MERGE_COLUMNS.map((c) => c.name).join(', ');
      await query(
        `BEGIN TRANSACTION;
DELETE FROM ${path(IDENTITY_TABLES.map)} WHERE component_id IN (SELECT v FROM UNNEST(@c));
DELETE FROM ${path(IDENTITY_TABLES.map)} m WHERE EXISTS (SELECT 1 FROM UNNEST(@ids) v WHERE m.id_type = v.t AND m.id_value = v.x);
DELETE FROM ${path(IDENTITY_TABLES.merges)} WHERE component_id IN (SELECT v FROM UNNEST(@c));
INSERT INTO ${path(IDENTITY_TABLES.map)} (${mapCols}) SELECT ${mapCols} FROM UNNEST(@map);
INSERT INTO ${path(IDENTITY_TABLES.merges)} (${mergeCols}) SELECT ${mergeCols} FROM UNNEST(@merges);
COMMIT TRANSACTION`,
        [
          stringsParam('c', fresh),
          idsParam('ids', ids),
          rowsParam('map', MAP_COLUMNS, mapCells(result)),
          rowsParam('merges', MERGE_COLUMNS, mergeCells(result)),
        ],
      );
    },

    async allEdges() {
      return (await query(`SELECT ${EDGE_SELECT_COLUMNS} FROM ${path(IDENTITY_TABLES.edges)}`)).map(toEdge);
    },

    async replaceAll(result) {
      await truncateLoad(IDENTITY_TABLES.map, MAP_COLUMNS, mapCells(result));
      await truncateLoad(IDENTITY_TABLES.merges, MERGE_COLUMNS, mergeCells(result));
    },

    async sourceTables() {
      const schema = await readWarehouseSchema(ctx);
      const out = new Map<string, Set<string>>();
      for (const table of EDGE_SOURCE_TABLES) {
        const cols = schema.get(table);
        if (cols) out.set(table, new Set(cols.keys()));
      }
      return out;
    },

    async *readRows(table, columns) {
      const times = new Set(['timestamp', 'received_at', 'loaded_at']);
      const select = columns.map((c) => `CAST(${c} AS STRING) AS ${c}`);
      const rows = await query(`SELECT ${select.join(', ')} FROM ${path(table)}`);
      yield rows.map((r) =>
        Object.fromEntries(
          Object.entries(r).map(([k, v]) => {
            if (v === null || v === undefined) return [k, null];
            return [k, times.has(k) ? isoOfMicros(timestampMicros(text(v))) : text(v)];
          }),
        ),
      );
    },

    async replaceEdges(log, edges) {
      // WRITE_TRUNCATE replaces the schema too (a warehouse from before the compaction had per-event columns).
      await truncateLoad(IDENTITY_TABLES.edgeLog, LOG_COLUMNS, log.map(logCells));
      await truncateLoad(IDENTITY_TABLES.edges, EDGE_COLUMNS, edges.map(compactCells));
    },

    updateState() {
      return bigQueryStateCell(ctx);
    },

    async eraseIds(ids) {
      if (ids.length === 0) return;
      const match = (t: string) =>
        `EXISTS (SELECT 1 FROM UNNEST(@ids) v WHERE (${t}.a_type = v.t AND ${t}.a_value = v.x) OR (${t}.b_type = v.t AND ${t}.b_value = v.x))`;
      await query(
        `BEGIN TRANSACTION;
DELETE FROM ${path(IDENTITY_TABLES.edgeLog)} l WHERE ${match('l')};
DELETE FROM ${path(IDENTITY_TABLES.edges)} e WHERE ${match('e')};
DELETE FROM ${path(IDENTITY_TABLES.merges)} g WHERE ${match('g')};
DELETE FROM ${path(IDENTITY_TABLES.map)} m WHERE EXISTS (SELECT 1 FROM UNNEST(@ids) v WHERE m.id_type = v.t AND m.id_value = v.x);
COMMIT TRANSACTION`,
        [idsParam('ids', ids)],
      );
    },
  };
}
