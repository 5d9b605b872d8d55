import type { DuckDBAppender, DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { CellValue, ColumnSchema, LogicalType } from '../destinations/destination.ts';
import { compactionSql, type SqlDialect, sliceParams, sliceWhere } from './compaction-sql.ts';
import type { GraphEdge, IdentityResult } from './compute.ts';
import { duckdbViews } from './duckdb-views.ts';
import { compactCells, logCells } from './edges.ts';
import { chunks, isoOfMicros, timestampMicros } from './store-support.ts';
import {
  type CompactEdge,
  EDGE_COLUMNS,
  EDGE_SOURCE_TABLES,
  type EdgeKind,
  IDENTITY_TABLES,
  type IdentityEdge,
  type IdRef,
  LOG_COLUMNS,
  MAP_COLUMNS,
  MERGE_COLUMNS,
} from './tables.ts';
import type { IdentityStore, LogSlice, StateCell } from './upkeep.ts';
import { definitionDigest } from './view-rules.ts';

/** The identity tables on DuckDB (own helpers: the DuckDB destination's files are being reorganised). */
const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const TYPES: Readonly<Record<LogicalType, string>> = {
  BOOL: 'BOOLEAN',
  INT64: 'BIGINT',
  FLOAT64: 'DOUBLE',
  STRING: 'VARCHAR',
  TIMESTAMP: 'TIMESTAMPTZ',
  JSON: 'JSON',
};
/** The scheduled update's state row (bookkeeping: the `_sluice_` prefix keeps it out of the event tables). */
const STATE_TABLE = '_sluice_identity_state';
const DIALECT: SqlDialect = { table: q, param: (name) => `$${name}`, timestamp: 'TIMESTAMPTZ' };

const tableDdl = (table: string, columns: readonly ColumnSchema[]): string =>
  `CREATE TABLE IF NOT EXISTS ${q(table)} (${columns.map((c) => `${q(c.name)} ${TYPES[c.type]}`).join(', ')})`;

const EDGE_LIST = `a_type, a_value, b_type, b_value, kind, event_id, CAST(ordinal AS DOUBLE) AS ordinal,
  CAST(epoch_us(first_seen) AS DOUBLE) AS at, CAST(epoch_us(last_seen) AS DOUBLE) AS last`;
const EDGE_SELECT = `SELECT ${EDGE_LIST} FROM ${q(IDENTITY_TABLES.edges)}`;
/** Both ends of a slice's log rows, as (t, x, l: loaded_at) rows. */
const sliceIds = (slice: LogSlice): string => {
  const where = sliceWhere(DIALECT, slice);
  const log = q(IDENTITY_TABLES.edgeLog);
  return `SELECT a_type AS t, a_value AS x, loaded_at AS l FROM ${log} WHERE ${where}
    UNION ALL SELECT b_type, b_value, loaded_at FROM ${log} WHERE ${where}`;
};
/** The ids of a load the per-file upkeep pages through (a temporary table of the connection). */
const SEEDS = '_sluice_identity_seeds';
/** Id refs and plain values a statement reads (temporary tables of the connection, replaced per call). */
const REACH = '_sluice_identity_reach';
const LIST = '_sluice_identity_list';

/** `text`, as the one copy `seen` holds (id types and kinds repeat on every edge). */
function interned(text: string, seen: Map<string, string>): string {
  const known = seen.get(text);
  if (known !== undefined) return known;
  if (seen.size < 1024) seen.set(text, text);
  return text;
}

function toEdge(row: Record<string, unknown>, seen: Map<string, string>): GraphEdge {
  return {
    aType: interned(String(row.a_type), seen),
    aValue: String(row.a_value),
    bType: interned(String(row.b_type), seen),
    bValue: String(row.b_value),
    kind: interned(String(row.kind), seen) as EdgeKind,
    eventId: String(row.event_id),
    ordinal: Number(row.ordinal),
    atMicros: Number(row.at),
    lastMicros: Number(row.last),
  };
}

const UTC_TEXT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/;

/** Appends one cell of a column of `type` (timestamps as RFC 3339 text, any offset). */
function appendCell(appender: DuckDBAppender, type: LogicalType, v: CellValue): void {
  if (v === null) appender.appendNull();
  else if (type === 'TIMESTAMP') {
    // The appender's own text-to-TIMESTAMPTZ cast reads UTC (`Z`) text right but drops any other offset: other
    // text goes as the same instant in UTC. (Text, not a DuckDB timestamp value: this module is in the GCP
    // function's bundle, which has no DuckDB, so it imports DuckDB's types only.)
    const text = String(v);
    if (UTC_TEXT.test(text)) {
      appender.appendVarchar(text);
      return;
    }
    const micros = timestampMicros(text);
    if (!Number.isFinite(micros)) throw new Error(`not a timestamp: ${JSON.stringify(v)}`);
    appender.appendVarchar(isoOfMicros(micros));
  } else if (type === 'INT64') appender.appendBigInt(BigInt(v as number | bigint));
  else if (type === 'BOOL') appender.appendBoolean(Boolean(v));
  else if (type === 'FLOAT64') appender.appendDouble(Number(v));
  else appender.appendVarchar(String(v));
}

/** `(VALUES ($1, $2), ...) AS v(t, x)` for id refs, with its parameters. */
function idValues(ids: readonly IdRef[], offset = 0): { sql: string; params: string[] } {
  const params: string[] = [];
  const rows = ids.map((r) => {
    params.push(r.type, r.value);
    return `($${offset + params.length - 1}, $${offset + params.length})`;
  });
  return { sql: `(VALUES ${rows.join(', ')}) AS v(t, x)`, params };
}

/** The `IdentityStore` over a DuckDB connection the destination holds open (one writer: loads are serialised). */
export function duckdbIdentityStore(connection: DuckDBConnection): IdentityStore {
  const all = async (
    sql: string,
    params: DuckDBValue[] | Record<string, DuckDBValue> = [],
  ): Promise<Record<string, unknown>[]> =>
    (await connection.runAndReadAll(sql, params)).getRowObjectsJS() as Record<string, unknown>[];

  // Bulk rows through DuckDB's appender (inside the caller's transaction, so a rollback drops them too): a VALUES
  // list of bound parameters managed ~3,000 rows/s, which made a 160k-row merge log take most of a minute.
  const insert = async (
    table: string,
    columns: readonly ColumnSchema[],
    rows: readonly CellValue[][],
  ): Promise<void> => {
    if (rows.length === 0) return;
    const appender = await connection.createAppender(table);
    try {
      for (const row of rows) {
        for (let k = 0; k < columns.length; k++)
          appendCell(appender, (columns[k] as ColumnSchema).type, row[k] ?? null);
        appender.endRow();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  };

  const writeResult = async (result: IdentityResult): Promise<void> => {
    await insert(
      IDENTITY_TABLES.map,
      MAP_COLUMNS,
      result.map.map((m) => [
        m.idType,
        m.idValue,
        m.personId,
        m.userId,
        m.componentId,
        m.firstSeen,
        m.lastSeen,
        m.listed,
      ]),
    );
    await insert(
      IDENTITY_TABLES.merges,
      MERGE_COLUMNS,
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
      ]),
    );
  };

  const transaction = async (work: () => Promise<void>): Promise<void> => {
    await connection.run('BEGIN TRANSACTION');
    try {
      await work();
      await connection.run('COMMIT');
    } catch (error) {
      await connection.run('ROLLBACK').catch(() => undefined);
      throw error;
    }
  };

  // Streamed chunk by chunk into edges: a result is never held twice (DuckDB's rows and JS objects) on the loader's
  // small heap.
  const readEdges = async (
    sql: string,
    params: DuckDBValue[],
    out: GraphEdge[],
    intern: Map<string, string>,
  ): Promise<void> => {
    const result = await connection.stream(sql, params);
    for await (const rows of result.yieldRowObjectJs())
      for (const row of rows) out.push(toEdge(row as Record<string, unknown>, intern));
  };

  // Id lists go into a temporary table in one append and each operation is one set-based statement over it: per
  // chunk of 400 bound parameters, the upkeep of 200k new users took 212 s (2,000 DELETEs, 1,560 SELECTs, ...).
  const withTemp = async <T>(
    table: string,
    columns: readonly string[],
    rows: Iterable<readonly string[]>,
    work: () => Promise<T>,
  ): Promise<T> => {
    await connection.run(
      `CREATE OR REPLACE TEMP TABLE ${q(table)} (${columns.map((c) => `${c} VARCHAR`).join(', ')})`,
    );
    try {
      const appender = await connection.createAppender(table, 'main', 'temp');
      try {
        for (const row of rows) {
          for (const v of row) appender.appendVarchar(v);
          appender.endRow();
        }
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
      return await work();
    } finally {
      await connection.run(`DROP TABLE IF EXISTS temp.main.${q(table)}`);
    }
  };
  const idRows = function* (ids: readonly IdRef[]): Iterable<readonly string[]> {
    for (const r of ids) yield [r.type, r.value];
  };
  /** The components whose map rows go (`merges_only` 0), and those whose merge records only go too (1). */
  const rowsOfComponents = function* (
    mapAndMerges: readonly string[],
    merges: readonly string[],
  ): Iterable<readonly string[]> {
    const both = new Set(mapAndMerges);
    for (const c of both) yield [c, '0'];
    for (const c of merges) if (!both.has(c)) yield [c, '1'];
  };
  const valueRows = function* (values: readonly string[]): Iterable<readonly string[]> {
    for (const v of values) yield [v];
  };

  // The links come back from one query, each link once (the UNION): the limit is then exact, where per-chunk
  // queries read a link with both ends among the ids twice, and a caller counting rows could take a part of a
  // component for all of it.
  const touching = (ids: readonly IdRef[], limit: number | undefined): Promise<GraphEdge[]> =>
    withTemp(REACH, ['t', 'x'], idRows(ids), async () => {
      // Each side is its own equi-join (an OR join would be a nested loop over the edges).
      const side = (s: 'a' | 'b') =>
        `SELECT e.* FROM ${q(IDENTITY_TABLES.edges)} e JOIN ${q(REACH)} r ON e.${s}_type = r.t AND e.${s}_value = r.x`;
      const out: GraphEdge[] = [];
      await readEdges(
        `SELECT ${EDGE_LIST} FROM (${side('a')} UNION ${side('b')})${limit === undefined ? '' : ` LIMIT ${Math.max(0, Math.floor(limit))}`}`,
        [],
        out,
        new Map(),
      );
      return out;
    });

  const updateState = (): StateCell => ({
    async read() {
      await connection.run(
        `CREATE TABLE IF NOT EXISTS ${q(STATE_TABLE)} (name VARCHAR PRIMARY KEY, body VARCHAR, version BIGINT)`,
      );
      const rows = await all(
        `SELECT body, CAST(version AS VARCHAR) AS version FROM ${q(STATE_TABLE)} WHERE name = 'update'`,
      );
      const row = rows[0];
      return row ? { text: String(row.body), version: String(row.version) } : undefined;
    },
    async write(text, ifVersion) {
      if (ifVersion === '0') {
        try {
          await connection.run(`INSERT INTO ${q(STATE_TABLE)} VALUES ('update', $1, 1)`, [text]);
          return '1';
        } catch {
          return undefined; // another run created it first (primary key)
        }
      }
      const rows = await all(
        `UPDATE ${q(STATE_TABLE)} SET body = $1, version = version + 1 WHERE name = 'update' AND version = $2
           RETURNING CAST(version AS VARCHAR) AS version`,
        [text, Number(ifVersion)],
      );
      return rows[0] ? String(rows[0].version) : undefined;
    },
  });

  return {
    updateState,

    async ensure(rules) {
      await connection.run(tableDdl(IDENTITY_TABLES.edgeLog, LOG_COLUMNS));
      await connection.run(tableDdl(IDENTITY_TABLES.edges, EDGE_COLUMNS));
      await connection.run(tableDdl(IDENTITY_TABLES.map, MAP_COLUMNS));
      await connection.run(tableDdl(IDENTITY_TABLES.merges, MERGE_COLUMNS));
      const existing = new Set(
        (
          await all(
            `SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_catalog = current_database()`,
          )
        ).map((r) => String(r.table_name).toLowerCase()),
      );
      const views = new Map(
        (await all('SELECT view_name, comment FROM duckdb_views() WHERE NOT internal')).map((r) => [
          String(r.view_name).toLowerCase(),
          String(r.comment ?? ''),
        ]),
      );
      for (const { name, sql } of duckdbViews(existing, rules)) {
        const digest = `sluice:${definitionDigest(sql)}`;
        if (views.get(name) === digest) continue;
        await connection.run(sql);
        await connection.run(`COMMENT ON VIEW ${q(name)} IS '${digest}'`);
      }
    },

    async hasLog() {
      const exists = await all(
        `SELECT 1 FROM information_schema.tables WHERE table_schema = 'main' AND table_catalog = current_database()
           AND table_name = '${IDENTITY_TABLES.edgeLog}'`,
      );
      return exists.length > 0;
    },

    async logIds(slice) {
      // Distinct ids, not links (`logIdsSql` returns one row per link: 1.5M rows for a file of 1.5M new pairs).
      const rows = await all(
        `SELECT t, x, CAST(MAX(l) AS VARCHAR) AS through FROM (${sliceIds(slice)}) GROUP BY t, x`,
        sliceParams(slice),
      );
      const ids: IdRef[] = [];
      const seen = new Map<string, string>();
      let through: number | undefined;
      for (const r of rows) {
        ids.push({ type: interned(String(r.t), seen), value: String(r.x) });
        const at = timestampMicros(String(r.through));
        through = through === undefined ? at : Math.max(through, at);
      }
      return { ids, through: through === undefined ? undefined : isoOfMicros(through) };
    },

    async *seedPages(slice, size) {
      // The ids once into a temporary table, numbered, then read a page at a time: a file linking millions of ids
      // never holds them all in the loader's heap.
      await connection.run(
        `CREATE OR REPLACE TEMP TABLE ${q(SEEDS)} AS SELECT t, x, row_number() OVER (ORDER BY t, x) AS n
           FROM (SELECT DISTINCT t, x FROM (${sliceIds(slice)}))`,
        sliceParams(slice),
      );
      try {
        const seen = new Map<string, string>();
        for (let from = 0; ; from += size) {
          const rows = await all(`SELECT t, x FROM ${q(SEEDS)} WHERE n > $1 AND n <= $2 ORDER BY n`, [
            from,
            from + size,
          ]);
          if (rows.length === 0) return;
          yield rows.map((r) => ({ type: interned(String(r.t), seen), value: String(r.x) }));
        }
      } finally {
        await connection.run(`DROP TABLE IF EXISTS temp.main.${q(SEEDS)}`);
      }
    },

    async compact(slice) {
      await connection.run(compactionSql(DIALECT, sliceWhere(DIALECT, slice)), sliceParams(slice));
    },

    async distinctOf(column, ids) {
      return withTemp(REACH, ['t', 'x'], idRows(ids), async () =>
        (
          await all(
            `SELECT DISTINCT m.${column} AS d FROM ${q(IDENTITY_TABLES.map)} m JOIN ${q(REACH)} r
               ON m.id_type = r.t AND m.id_value = r.x`,
          )
        ).map((r) => String(r.d)),
      );
    },

    async idsOfPersons(personIds) {
      return withTemp(LIST, ['v'], valueRows(personIds), async () =>
        (
          await all(
            `SELECT id_type, id_value FROM ${q(IDENTITY_TABLES.map)} WHERE person_id IN (SELECT v FROM ${q(LIST)})`,
          )
        ).map((r) => ({ type: String(r.id_type), value: String(r.id_value) })),
      );
    },

    async membersOf(componentIds) {
      return withTemp(LIST, ['v'], valueRows(componentIds), async () =>
        (
          await all(
            `SELECT id_type, id_value FROM ${q(IDENTITY_TABLES.map)} WHERE component_id IN (SELECT v FROM ${q(LIST)})`,
          )
        ).map((r) => ({ type: String(r.id_type), value: String(r.id_value) })),
      );
    },

    async edgesTouching(ids, limit) {
      return touching(ids, limit);
    },

    async replaceComponents(componentIds, ids, result) {
      // Merge records of the components the result holds go too (a component id may be new to the map).
      const fresh = [...new Set([...componentIds, ...result.map.map((m) => m.componentId)])];
      await withTemp(LIST, ['v', 'merges_only'], rowsOfComponents(componentIds, fresh), () =>
        withTemp(REACH, ['t', 'x'], idRows(ids), () =>
          transaction(async () => {
            await connection.run(
              `DELETE FROM ${q(IDENTITY_TABLES.map)} WHERE component_id IN (SELECT v FROM ${q(LIST)} WHERE merges_only = '0')`,
            );
            await connection.run(
              `DELETE FROM ${q(IDENTITY_TABLES.map)} m USING ${q(REACH)} r WHERE m.id_type = r.t AND m.id_value = r.x`,
            );
            await connection.run(
              `DELETE FROM ${q(IDENTITY_TABLES.merges)} WHERE component_id IN (SELECT v FROM ${q(LIST)})`,
            );
            await writeResult(result);
          }),
        ),
      );
    },

    async allEdges() {
      const out: GraphEdge[] = [];
      await readEdges(EDGE_SELECT, [], out, new Map());
      return out;
    },

    async replaceAll(result) {
      await transaction(async () => {
        // Dropped and created again: a warehouse from an older version has fewer map columns.
        for (const [table, columns] of [
          [IDENTITY_TABLES.map, MAP_COLUMNS],
          [IDENTITY_TABLES.merges, MERGE_COLUMNS],
        ] as const) {
          await connection.run(`DELETE FROM ${q(table)}`);
          const have = await all(
            `SELECT count(*) AS n FROM information_schema.columns WHERE table_schema = 'main' AND table_name = '${table}'`,
          );
          if (Number(have[0]?.n) !== columns.length) {
            await connection.run(`DROP TABLE ${q(table)}`);
            await connection.run(tableDdl(table, columns));
          }
        }
        await writeResult(result);
      });
    },

    async sourceTables() {
      const rows = await all(
        `SELECT table_name, column_name FROM information_schema.columns
           WHERE table_schema = 'main' AND table_catalog = current_database()`,
      );
      const out = new Map<string, Set<string>>();
      for (const r of rows) {
        const table = String(r.table_name).toLowerCase();
        if (!(EDGE_SOURCE_TABLES as readonly string[]).includes(table)) continue;
        let cols = out.get(table);
        if (!cols) {
          cols = new Set();
          out.set(table, cols);
        }
        cols.add(String(r.column_name).toLowerCase());
      }
      return out;
    },

    async *readRows(table, columns) {
      const select = columns.map((c) =>
        ['timestamp', 'received_at', 'loaded_at'].includes(c)
          ? `strftime(${q(c)} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ') AS ${q(c)}`
          : `CAST(${q(c)} AS VARCHAR) AS ${q(c)}`,
      );
      const result = await connection.stream(`SELECT ${select.join(', ')} FROM ${q(table)}`);
      for await (const rows of result.yieldRowObjectJs()) yield rows as Record<string, CellValue>[];
    },

    async replaceEdges(log: readonly IdentityEdge[], edges: readonly CompactEdge[]) {
      await transaction(async () => {
        // Dropped and created again: a warehouse from before the compaction has the old per-event columns.
        await connection.run(`DROP TABLE IF EXISTS ${q(IDENTITY_TABLES.edges)}`);
        await connection.run(tableDdl(IDENTITY_TABLES.edges, EDGE_COLUMNS));
        await connection.run(`DELETE FROM ${q(IDENTITY_TABLES.edgeLog)}`);
        await insert(IDENTITY_TABLES.edgeLog, LOG_COLUMNS, log.map(logCells));
        await insert(IDENTITY_TABLES.edges, EDGE_COLUMNS, edges.map(compactCells));
      });
    },

    async eraseIds(ids) {
      await transaction(async () => {
        for (const part of chunks(ids)) {
          const v = idValues(part);
          for (const s of ['a', 'b']) {
            for (const table of [IDENTITY_TABLES.edgeLog, IDENTITY_TABLES.edges]) {
              await connection.run(
                `DELETE FROM ${q(table)} e USING ${v.sql} WHERE e.${s}_type = v.t AND e.${s}_value = v.x`,
                v.params,
              );
            }
            await connection.run(
              `DELETE FROM ${q(IDENTITY_TABLES.merges)} e USING ${v.sql} WHERE e.${s}_type = v.t AND e.${s}_value = v.x`,
              v.params,
            );
          }
          await connection.run(
            `DELETE FROM ${q(IDENTITY_TABLES.map)} m USING ${v.sql} WHERE m.id_type = v.t AND m.id_value = v.x`,
            v.params,
          );
        }
      });
    },
  };
}
