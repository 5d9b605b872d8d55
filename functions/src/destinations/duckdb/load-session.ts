import type { DuckDBConnection } from '@duckdb/node-api';
import { LoaderError } from '../../errors.ts';
import { type UpsertTable, upsertTableNamed } from '../../schema/upsert-tables.ts';
import type {
  FailedEvent,
  LoadMeta,
  LoadRecord,
  LoadSession,
  LoadSummary,
  LogicalType,
  SchemaChange,
  StagedRow,
  WarehouseSchema,
} from '../destination.ts';
import { TABLES } from '../destination.ts';
import { classifyDuckdbError } from './duckdb-errors.ts';
import type { InstanceCache } from './instances.ts';
import { findLoadIn, insertLoadRow } from './loads-rows.ts';
import { commitMemoryLimit, doubledMemoryLimit, OUT_OF_MEMORY_RAISES } from './memory-limit.ts';
import type { LoadProfiler } from './profile.ts';
import { castFromStage, DUCKDB_TYPES, ident, literal, STAGE_TYPES } from './sql.ts';
import { EVENTS, FAILED, readStage, StageFiles } from './staging.ts';

/** `read_json(<file>, columns = {...})` with the staging types of `columns` plus the row metadata. */
function readStaged(file: string, columns: [string, string][]): string {
  const spec = columns.map(([name, type]) => `${literal(name)}: ${literal(type)}`).join(', ');
  return `read_json(${literal(file)}, format = 'newline_delimited', maximum_object_size = 2097152, columns = {${spec}})`;
}

/** Lines of this load that are duplicates (a line may be listed twice); created and dropped inside the commit. */
const REJECTED = '"_sluice_stage_duplicates"';
/** Hashes of the event ids that occur more than once in this load's file; created and dropped inside the commit. */
const REPEATED_HASHES = '"_sluice_stage_repeated_hashes"';
/** Hashes of the ids with more than one row of upsert table `table` in this load; dropped inside the commit. */
const repeatedIds = (table: string) => ident(`_sluice_stage_repeated_${table}`);

/**
 * Users rows aggregated per id in one statement, at most (about): DuckDB cannot spill `arg_max` over strings to
 * disk, and 1,000,000 ids in one aggregate exceed a 96 MB memory limit.
 */
export const USERS_PER_AGGREGATE = 100_000;

/** Row metadata, the first fields of a staged row: name in the commit's SQL, staging type (received_at: upsert
 * tables only). */
const ROW_LINE = ['_sluice_line', 'BIGINT'] as const;
const ROW_RECEIVED = ['_sluice_received_at', 'VARCHAR'] as const;

/**
 * One DuckDB load. Batches are staged as NDJSON files (see `StageFiles`); table DDL is queued; `commit` runs DDL,
 * dedup, the inserts from `read_json`, the upsert MERGEs (users, accounts) and the bookkeeping rows in ONE
 * transaction. A crash before COMMIT leaves nothing visible (DDL is transactional in DuckDB; staged files are
 * removed on the next open).
 */
export async function duckdbLoadSession(
  connection: DuckDBConnection,
  meta: LoadMeta,
  initialSchema: WarehouseSchema,
  stageRoot: string,
  memoryLimit: string,
  tuning: {
    usersPerAggregate?: number | undefined;
    profiler?: LoadProfiler | undefined;
    /** The instance's schema cache: set to this load's schema once committed, cleared when a commit fails. */
    cache?: InstanceCache | undefined;
  } = {},
): Promise<LoadSession> {
  const usersPerAggregate = tuning.usersPerAggregate ?? USERS_PER_AGGREGATE;
  const profiler = tuning.profiler;
  const schema = copySchema(initialSchema);
  const cache = tuning.cache;
  const ddl: string[] = [];
  const stage = await StageFiles.create(stageRoot, meta.loadId);

  const count = async (sql: string, values?: (string | number)[]): Promise<number> => {
    const reader = await connection.runAndReadAll(sql, values);
    return Number(reader.getRows()[0]?.[0] ?? 0);
  };

  /** The staged rows of `table` with the table's column names (the stage's fields are in staging order). */
  const source = (table: string, file: string): { sql: string; columns: [string, LogicalType][] } => {
    const types = schema.get(table) ?? new Map<string, LogicalType>();
    const fields = stage.fieldsOf(table, types.keys());
    const read = readStage(file, [
      ROW_LINE,
      ...(upsertTableNamed(table) === undefined ? [] : [ROW_RECEIVED]),
      ...fields.map((c) => [c, STAGE_TYPES[types.get(c) ?? 'STRING']] as const),
    ]);
    return { sql: `(SELECT * FROM ${read})`, columns: [...types] };
  };

  /**
   * Creates table `name` of the 64-bit hashes `h` of the `key` values that occur more than once in `from`, with
   * their rows' count `n`: an integer aggregate that holds far less memory than one over the strings themselves
   * (a hash collision only adds a candidate, which the caller confirms or handles on the strings).
   */
  const repeatedHashes = (name: string, key: string, from: string): Promise<unknown> =>
    connection.run(
      // `GROUP BY 1`, not `h`: a staged column named `h` (a trait `H`) would bind there first.
      `CREATE TABLE ${name} AS SELECT hash(${key}) AS h, count(*) AS n FROM ${from} GROUP BY 1 HAVING count(*) > 1`,
    );

  /**
   * Upserts the load's rows of upsert table `table` (`users`, `accounts`; `keep`: the condition on a staged row `s`
   * that it is not a duplicate) on its key: one row per id with the latest non-null value of each column (by
   * received_at, then line), rows older than the stored row left out. Ids with one row in the file, usually most,
   * are merged as they are, in one statement whose join DuckDB can spill; the rows of repeated ids are aggregated
   * in partitions of their id hashes of about `usersPerAggregate` rows each.
   */
  const mergeUpsert = async (upsert: UpsertTable, file: string, keep: string): Promise<number> => {
    const { table, key } = upsert;
    const repeated = repeatedIds(table);
    const { sql, columns } = source(table, file);
    const cols = columns.filter(([c]) => c !== key);
    const typed = (value: string, type: LogicalType) =>
      type === 'TIMESTAMP' || type === 'JSON' ? `CAST(${value} AS ${DUCKDB_TYPES[type]})` : value;
    const hasReceived = schema.get(table)?.get('received_at') === 'TIMESTAMP';
    const updates = cols.map(([c], i) => `${ident(c)} = coalesce(x.c${i}, u.${ident(c)})`);
    const guard = hasReceived ? ' AND (u.received_at IS NULL OR x._sluice_received >= u.received_at)' : '';
    const merge = (users: string) =>
      count(`MERGE INTO ${ident(table)} AS u USING (${users}) AS x ON u.${key} = x.${key}
      ${updates.length > 0 ? `WHEN MATCHED${guard} THEN UPDATE SET ${updates.join(', ')}` : ''}
      WHEN NOT MATCHED THEN INSERT (${key}${cols.map(([c]) => `, ${ident(c)}`).join('')})
        VALUES (x.${key}${cols.map((_c, i) => `, x.c${i}`).join('')})`);
    await repeatedHashes(repeated, key, `${sql} s WHERE ${keep}`);
    const once = cols.map(([c, type], i) => `${typed(`s.${ident(c)}`, type)} AS c${i}`);
    let written = await merge(
      `SELECT s.${key}, CAST(s._sluice_received_at AS TIMESTAMPTZ) AS _sluice_received${once.map((c) => `, ${c}`).join('')}
       FROM ${sql} s WHERE ${keep} AND hash(${key}) NOT IN (SELECT h FROM ${repeated})`,
    );
    const repeatedRows = await count(`SELECT coalesce(sum(n), 0)::DOUBLE FROM ${repeated}`);
    const parts = Math.ceil(repeatedRows / usersPerAggregate);
    // Latest by received_at, then line (as BigQuery's refresh); rows older than the stored row take no part.
    const received = 'CAST(s._sluice_received_at AS TIMESTAMPTZ)';
    const latest = cols.map(([c, type], i) => {
      const agg = `arg_max(s.${ident(c)}, (${received}, s._sluice_line)) FILTER (WHERE s.${ident(c)} IS NOT NULL)`;
      return `${typed(agg, type)} AS c${i}`;
    });
    const notOlder = hasReceived
      ? ` AND NOT EXISTS (SELECT 1 FROM ${ident(table)} u WHERE u.${key} = s.${key} AND u.received_at > ${received})`
      : '';
    for (let part = 0; part < parts; part++) {
      written += await merge(
        `SELECT s.${key}, max(${received}) AS _sluice_received${latest.map((c) => `, ${c}`).join('')}
         FROM ${sql} s
         WHERE ${keep} AND hash(${key}) IN (SELECT h FROM ${repeated} WHERE h % ${parts} = ${part})${notOlder}
         GROUP BY s.${key}`,
      );
    }
    await connection.run(`DROP TABLE ${repeated}`);
    return written;
  };

  const session: LoadSession = {
    async applySchemaChanges(changes: readonly SchemaChange[]): Promise<void> {
      for (const change of changes) {
        const t = ident(change.table);
        if (change.kind === 'create_table') {
          const known = schema.get(change.table);
          const existing = known ?? new Map<string, LogicalType>();
          const defs = change.columns.map((c) => `${ident(c.name)} ${DUCKDB_TYPES[c.type]}`).join(', ');
          ddl.push(`CREATE TABLE IF NOT EXISTS ${t} (${defs})`);
          // A table this load's schema already has (created earlier in the load, or by a load since the schema
          // was read): add what it lacks. A new table is made whole by the CREATE (one statement, not one per
          // column: ~1 ms each, 150 for a small file's new tables).
          for (const c of change.columns) {
            if (known !== undefined && !known.has(c.name)) {
              ddl.push(`ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS ${ident(c.name)} ${DUCKDB_TYPES[c.type]}`);
            }
          }
          for (const c of change.columns) if (!existing.has(c.name)) existing.set(c.name, c.type);
          schema.set(change.table, existing);
          continue;
        }
        const cols = schema.get(change.table);
        if (!cols) throw new Error(`schema change for unknown table ${change.table}`);
        if (change.kind === 'add_column') {
          cols.set(change.column, change.type);
          ddl.push(
            `ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS ${ident(change.column)} ${DUCKDB_TYPES[change.type]}`,
          );
        } else {
          cols.set(change.column, 'FLOAT64');
          ddl.push(`ALTER TABLE ${t} ALTER COLUMN ${ident(change.column)} SET DATA TYPE DOUBLE`);
        }
      }
    },

    async appendRows(table: string, rows: readonly StagedRow[]): Promise<void> {
      if (!schema.has(table)) throw new Error(`rows staged for unknown table ${table}; create it first`);
      const started = performance.now();
      await stage.appendRows(table, rows, upsertTableNamed(table) !== undefined);
      profiler?.('stage write', performance.now() - started);
    },

    async appendFailed(failures: readonly FailedEvent[]): Promise<void> {
      const started = performance.now();
      await stage.appendFailed(failures);
      profiler?.('stage write', performance.now() - started);
    },

    async commit(summary: LoadSummary): Promise<LoadRecord> {
      // Every staged row on disk before the commit reads the files (a failed write fails the load here).
      await stage.finish();
      let limit = commitMemoryLimit(
        memoryLimit,
        stage
          .tables()
          .map(([table]) => ({ columns: schema.get(table)?.size ?? 0, rows: stage.rowsOf(table) })),
      );
      // The estimate above can fall short (its constants are measured, not a model): a commit that runs out of
      // memory is rolled back and run again at twice the limit, a few times, before the load fails (retryable).
      for (let raises = 0; ; raises++) {
        if (limit !== memoryLimit) await connection.run(`SET memory_limit = ${literal(limit)}`);
        try {
          const record = await commitOnce(summary, limit);
          // What runs after the commit in this load (the identity upkeep) gets the configured limit back: at a
          // raised one a 1.5M-event load's upkeep peaked at 368 MB RSS. Best effort: if DuckDB cannot free the
          // memory yet, the raised limit stays until the instance is reused or closed (`DuckDBInstances`).
          if (limit !== memoryLimit) {
            await connection.run(`SET memory_limit = ${literal(memoryLimit)}`).catch(() => undefined);
          }
          return record;
        } catch (error) {
          const next = doubledMemoryLimit(limit);
          const outOfMemory =
            error instanceof LoaderError && error.code === 'SLUICE_ERR_LOAD_DESTINATION_OUT_OF_MEMORY';
          if (!outOfMemory || next === undefined || raises >= OUT_OF_MEMORY_RAISES) throw error;
          limit = next;
        }
      }
    },

    async abort(): Promise<void> {
      await stage.remove();
    },
  };

  async function commitOnce(summary: LoadSummary, limit: string): Promise<LoadRecord> {
    await connection.run('BEGIN TRANSACTION');
    try {
      const existing = await findLoadIn(connection, meta.loadKey);
      if (existing) {
        await connection.run('ROLLBACK');
        await stage.remove();
        return existing;
      }
      for (const statement of ddl) await connection.run(statement);
      const eventsFile = stage.fileOf(EVENTS);
      const events = eventsFile
        ? readStage(eventsFile, [
            ['event_id', 'VARCHAR'],
            ['line', 'BIGINT'],
            ['received_at', 'VARCHAR'],
          ])
        : '(SELECT NULL::VARCHAR AS event_id, NULL::BIGINT AS line, NULL::VARCHAR AS received_at WHERE false)';
      // De-duplication. A line is one event, so duplicates are identified by line numbers: rows are filtered
      // with an integer anti-join (or not at all when nothing was a duplicate).
      const windowMs = Math.trunc(meta.dedupWindowMs);
      const [staged, minReceived] = eventsFile
        ? await (async () => {
            const reader = await connection.runAndReadAll(
              `SELECT count(*)::DOUBLE, CAST(min(CAST(received_at AS TIMESTAMPTZ)) AS VARCHAR) FROM ${events}`,
            );
            const row = reader.getRows()[0];
            return [Number(row?.[0] ?? 0), String(row?.[1] ?? '1970-01-01 00:00:00+00')] as const;
          })()
        : ([0, '1970-01-01 00:00:00+00'] as const);
      // Lines to drop: later copies of an id within this file, and ids already loaded within the look-back
      // window. Usually few. Found in steps that each hold little in memory: ids repeated in the file are first
      // found by their 64-bit hash (an integer aggregate, far smaller than one over the id strings), then
      // confirmed on the ids themselves among those few lines (a hash collision only adds a candidate).
      await repeatedHashes(REPEATED_HASHES, 'event_id', events);
      await connection.run(
        `CREATE TABLE ${REJECTED} AS
           WITH c AS MATERIALIZED (
             SELECT event_id, line FROM ${events} WHERE hash(event_id) IN (SELECT h FROM ${REPEATED_HASHES}))
           SELECT c.line FROM c
           JOIN (SELECT event_id, min(line) AS first FROM c GROUP BY event_id HAVING count(*) > 1) d
             ON c.event_id = d.event_id AND c.line > d.first`,
      );
      await connection.run(
        `INSERT INTO ${REJECTED}
           SELECT e.line FROM ${events} e
           JOIN (SELECT id, received_at FROM ${ident(TABLES.eventIds)}
                 WHERE received_at >= CAST(${literal(minReceived)} AS TIMESTAMPTZ) - to_milliseconds(${windowMs})) x
             ON x.id = e.event_id
           WHERE x.received_at >= CAST(e.received_at AS TIMESTAMPTZ) - to_milliseconds(${windowMs})`,
      );
      const duplicates = await count(`SELECT count(DISTINCT line) FROM ${REJECTED}`);
      const eventsLoaded = staged - duplicates;
      const keep = duplicates === 0 ? 'true' : `s._sluice_line NOT IN (SELECT line FROM ${REJECTED})`;
      const filter = duplicates === 0 ? '' : ` WHERE ${keep}`;
      if (eventsFile) {
        await connection.run(
          `INSERT INTO ${ident(TABLES.eventIds)} (id, received_at, load_id)
             SELECT s.event_id, CAST(s.received_at AS TIMESTAMPTZ), $1 FROM ${events} s${filter.replace(/_sluice_line/g, 'line')}`,
          [meta.loadId],
        );
      }
      let rowsWritten = 0;
      for (const [table, file] of stage.tables()) {
        const upsert = upsertTableNamed(table);
        if (upsert !== undefined) {
          rowsWritten += await mergeUpsert(upsert, file, keep);
          continue;
        }
        const { sql, columns } = source(table, file);
        const names = columns.map(([c]) => ident(c)).join(', ');
        const values = columns.map(([c, type]) => castFromStage(c, type, 's')).join(', ');
        rowsWritten += await count(
          `INSERT INTO ${ident(table)} (${names}) SELECT ${values} FROM ${sql} s${filter}`,
        );
      }
      const common = [meta.loadId, meta.loadKey, meta.bucket, meta.name, meta.generation];
      const failedFile = stage.fileOf(FAILED);
      if (failedFile) {
        const failed = readStaged(failedFile, [
          ['line', 'BIGINT'],
          ['event_id', 'VARCHAR'],
          ['error_code', 'VARCHAR'],
          ['reason', 'VARCHAR'],
          ['raw_line', 'VARCHAR'],
          ['raw_truncated', 'BOOLEAN'],
        ]);
        await connection.run(
          `INSERT INTO ${ident(TABLES.failedEvents)}
             SELECT $1, $2, $3, $4, $5, line, event_id, error_code, reason, raw_line, raw_truncated,
                    CAST($6 AS TIMESTAMPTZ) FROM ${failed} ORDER BY line`,
          [...common, meta.startedAt.toISOString()],
        );
      }
      await insertSchemaChanges(connection, meta, summary.schemaChanges);
      const record: LoadRecord = {
        loadId: meta.loadId,
        loadKey: meta.loadKey,
        bucket: meta.bucket,
        name: meta.name,
        generation: meta.generation,
        status: 'loaded',
        reason: null,
        startedAt: meta.startedAt,
        finishedAt: summary.finishedAt,
        linesRead: summary.linesRead,
        bytesRead: summary.bytesRead,
        eventsLoaded,
        duplicates,
        failed: summary.failed,
        valuesDiscarded: summary.valuesDiscarded,
        suppressed: summary.suppressed ?? 0,
        rowsWritten,
        schemaChanges: summary.schemaChanges,
      };
      await insertLoadRow(connection, record);
      await connection.run(`DROP TABLE ${REJECTED}`);
      await connection.run(`DROP TABLE ${REPEATED_HASHES}`);
      await connection.run('COMMIT');
      if (cache !== undefined) cache.schema = copySchema(schema);
      await stage.remove();
      return record;
    } catch (error) {
      if (cache !== undefined) cache.schema = undefined;
      await connection.run('ROLLBACK').catch(() => undefined);
      // Say which limit and how wide the load's tables are (an out-of-memory error names neither).
      const widest = Math.max(0, ...stage.tables().map(([table]) => schema.get(table)?.size ?? 0));
      throw classifyDuckdbError(
        error,
        `commit of ${meta.loadKey} (memory limit ${limit}; the widest table of this load has ${widest} columns)`,
      );
    }
  }
  return session;
}

/** Rows of one multi-row INSERT of schema changes, at most (DuckDB binds each value as a parameter). */
const SCHEMA_CHANGES_PER_INSERT = 500;

/** The load's schema-change rows, in a few multi-row statements (one per change cost ~2 ms each). */
async function insertSchemaChanges(
  connection: DuckDBConnection,
  meta: LoadMeta,
  changes: readonly SchemaChange[],
): Promise<void> {
  for (let from = 0; from < changes.length; from += SCHEMA_CHANGES_PER_INSERT) {
    const part = changes.slice(from, from + SCHEMA_CHANGES_PER_INSERT);
    const values: (string | null)[] = [];
    const tuples = part.map((change, i) => {
      const column = change.kind === 'create_table' ? null : change.column;
      const was = change.kind === 'widen_column' ? change.from : null;
      const to =
        change.kind === 'add_column' ? change.type : change.kind === 'widen_column' ? change.to : null;
      values.push(meta.loadId, change.table, column, change.kind, was, to, meta.startedAt.toISOString());
      const p = (k: number) => `$${i * 7 + k}`;
      return `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, CAST(${p(7)} AS TIMESTAMPTZ))`;
    });
    await connection.run(`INSERT INTO ${ident(TABLES.schemaChanges)} VALUES ${tuples.join(', ')}`, values);
  }
}

/** A copy of `schema` (its column maps too): a load evolves its own. */
export function copySchema(schema: WarehouseSchema): WarehouseSchema {
  return new Map([...schema].map(([t, c]) => [t, new Map(c)]));
}
