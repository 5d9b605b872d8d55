import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import type {
  CellValue,
  FailedEvent,
  LoadMeta,
  LoadRecord,
  LoadSession,
  LoadSummary,
  LogicalType,
  SchemaChange,
  StagedRow,
  WarehouseSchema,
} from './destination.ts';
import { TABLES } from './destination.ts';
import { castFromStage, DUCKDB_TYPES, ident, STAGE_TYPES } from './duckdb-sql.ts';

interface Stage {
  name: string;
  columns: string[];
  types: LogicalType[];
}

const META = ['_sluice_event_id', '_sluice_line', '_sluice_received_at'] as const;

function appendCell(appender: DuckDBAppender, type: LogicalType, value: CellValue | undefined): void {
  if (value === null || value === undefined) {
    appender.appendNull();
    return;
  }
  switch (type) {
    case 'BOOL':
      appender.appendBoolean(value === true);
      return;
    case 'INT64':
      appender.appendBigInt(typeof value === 'bigint' ? value : BigInt(value as number));
      return;
    case 'FLOAT64':
      appender.appendDouble(Number(value));
      return;
    default:
      appender.appendVarchar(String(value));
  }
}

/** Set of line numbers as a growable bitmap: one bit per line, so a 10M-line file costs 1.25 MB. */
class LineSet {
  private bits = new Uint8Array(1024);
  add(line: number): boolean {
    const byte = line >>> 3;
    if (byte >= this.bits.length) {
      const next = new Uint8Array(Math.max(byte + 1, this.bits.length * 2));
      next.set(this.bits);
      this.bits = next;
    }
    const mask = 1 << (line & 7);
    const had = ((this.bits[byte] ?? 0) & mask) !== 0;
    this.bits[byte] = (this.bits[byte] ?? 0) | mask;
    return !had;
  }
}

export function loadRecordFromRow(row: Record<string, unknown>): LoadRecord {
  const num = (k: string): number => Number(row[k] ?? 0);
  let schemaChanges: SchemaChange[] = [];
  try {
    schemaChanges = JSON.parse(String(row.schema_changes ?? '[]')) as SchemaChange[];
  } catch {
    schemaChanges = [];
  }
  return {
    loadId: String(row.load_id),
    loadKey: String(row.load_key),
    bucket: String(row.bucket),
    name: String(row.name),
    generation: String(row.generation),
    status: 'complete',
    startedAt: new Date(num('started_ms')),
    finishedAt: new Date(num('finished_ms')),
    linesRead: num('lines_read'),
    bytesRead: num('bytes_read'),
    eventsLoaded: num('events_loaded'),
    duplicates: num('duplicates'),
    failed: num('failed'),
    valuesDiscarded: num('values_discarded'),
    rowsWritten: num('rows_written'),
    schemaChanges,
  };
}

/**
 * One DuckDB load: rows are appended (DuckDB appender) into TEMP staging tables that no other connection can see;
 * table DDL is queued; `commit` runs DDL, dedup, inserts, the users MERGE and the bookkeeping rows in ONE
 * transaction. A crash before COMMIT leaves nothing (temp tables die with the connection; DDL is transactional).
 */
export async function duckdbLoadSession(
  connection: DuckDBConnection,
  meta: LoadMeta,
  initialSchema: WarehouseSchema,
): Promise<LoadSession> {
  const schema: WarehouseSchema = new Map([...initialSchema].map(([t, c]) => [t, new Map(c)]));
  const stages = new Map<string, Stage>();
  const ddl: string[] = [];
  const seenLines = new LineSet();
  let stageCount = 0;

  await connection.run(
    'CREATE OR REPLACE TEMP TABLE _stage_events (event_id VARCHAR, line BIGINT, received_at VARCHAR)',
  );
  await connection.run(
    `CREATE OR REPLACE TEMP TABLE _stage_failed (line BIGINT, event_id VARCHAR, error_code VARCHAR, reason VARCHAR,
       raw_line VARCHAR, raw_truncated BOOLEAN)`,
  );

  const ensureStage = async (table: string): Promise<Stage> => {
    let stage = stages.get(table);
    if (stage) return stage;
    const cols = schema.get(table);
    if (!cols)
      throw new Error(`rows staged for unknown table ${table}; applySchemaChanges must create it first`);
    stage = { name: `_stage_${stageCount++}`, columns: [...cols.keys()], types: [...cols.values()] };
    const defs = stage.columns.map((c, i) => `${ident(c)} ${STAGE_TYPES[stage!.types[i] as LogicalType]}`);
    await connection.run(
      `CREATE OR REPLACE TEMP TABLE ${ident(stage.name)} (_sluice_event_id VARCHAR, _sluice_line BIGINT,
         _sluice_received_at VARCHAR${defs.length > 0 ? `, ${defs.join(', ')}` : ''})`,
    );
    stages.set(table, stage);
    return stage;
  };

  const dropStages = async (): Promise<void> => {
    for (const stage of stages.values())
      await connection.run(`DROP TABLE IF EXISTS temp.${ident(stage.name)}`);
    await connection.run('DROP TABLE IF EXISTS temp._stage_events');
    await connection.run('DROP TABLE IF EXISTS temp._stage_failed');
    await connection.run('DROP TABLE IF EXISTS temp._accepted');
    stages.clear();
  };

  const count = async (sql: string, values?: (string | number)[]): Promise<number> => {
    const reader = await connection.runAndReadAll(sql, values);
    return Number(reader.getRows()[0]?.[0] ?? 0);
  };

  const mergeUsers = async (stage: Stage): Promise<number> => {
    const target = schema.get(TABLES.users) ?? new Map<string, LogicalType>();
    const cols = stage.columns.filter((c) => c !== 'id');
    const aggregates = cols.map((c, i) => {
      const type = stage.types[stage.columns.indexOf(c)] as LogicalType;
      const agg = `arg_max(${ident(c)}, _sluice_line) FILTER (WHERE ${ident(c)} IS NOT NULL)`;
      return `${type === 'TIMESTAMP' || type === 'JSON' ? `CAST(${agg} AS ${DUCKDB_TYPES[type]})` : agg} AS c${i}`;
    });
    const hasReceived = target.get('received_at') === 'TIMESTAMP';
    const source = `SELECT id, max(CAST(_sluice_received_at AS TIMESTAMPTZ)) AS _sluice_received${
      aggregates.length > 0 ? `, ${aggregates.join(', ')}` : ''
    } FROM ${ident(stage.name)} s SEMI JOIN _accepted a ON s._sluice_event_id = a.event_id AND s._sluice_line = a.line
      GROUP BY id`;
    const updates = cols.map((c, i) => `${ident(c)} = coalesce(x.c${i}, u.${ident(c)})`);
    const guard = hasReceived ? ' AND (u.received_at IS NULL OR x._sluice_received >= u.received_at)' : '';
    const sql = `MERGE INTO ${ident(TABLES.users)} AS u USING (${source}) AS x ON u.id = x.id
      ${updates.length > 0 ? `WHEN MATCHED${guard} THEN UPDATE SET ${updates.join(', ')}` : ''}
      WHEN NOT MATCHED THEN INSERT (id${cols.map((c) => `, ${ident(c)}`).join('')})
        VALUES (x.id${cols.map((_c, i) => `, x.c${i}`).join('')})`;
    return count(sql);
  };

  const session: LoadSession = {
    async applySchemaChanges(changes: readonly SchemaChange[]): Promise<void> {
      for (const change of changes) {
        if (change.kind === 'create_table') {
          const existing = schema.get(change.table) ?? new Map<string, LogicalType>();
          for (const c of change.columns) if (!existing.has(c.name)) existing.set(c.name, c.type);
          schema.set(change.table, existing);
          const defs = change.columns.map((c) => `${ident(c.name)} ${DUCKDB_TYPES[c.type]}`).join(', ');
          ddl.push(`CREATE TABLE IF NOT EXISTS ${ident(change.table)} (${defs})`);
          for (const c of change.columns) {
            ddl.push(
              `ALTER TABLE ${ident(change.table)} ADD COLUMN IF NOT EXISTS ${ident(c.name)} ${DUCKDB_TYPES[c.type]}`,
            );
          }
          continue;
        }
        const cols = schema.get(change.table);
        if (!cols) throw new Error(`schema change for unknown table ${change.table}`);
        const stage = stages.get(change.table);
        if (change.kind === 'add_column') {
          cols.set(change.column, change.type);
          ddl.push(
            `ALTER TABLE ${ident(change.table)} ADD COLUMN IF NOT EXISTS ${ident(change.column)} ${DUCKDB_TYPES[change.type]}`,
          );
          if (stage) {
            await connection.run(
              `ALTER TABLE temp.${ident(stage.name)} ADD COLUMN ${ident(change.column)} ${STAGE_TYPES[change.type]}`,
            );
            stage.columns.push(change.column);
            stage.types.push(change.type);
          }
        } else {
          cols.set(change.column, 'FLOAT64');
          ddl.push(
            `ALTER TABLE ${ident(change.table)} ALTER COLUMN ${ident(change.column)} SET DATA TYPE DOUBLE`,
          );
          if (stage) {
            await connection.run(
              `ALTER TABLE temp.${ident(stage.name)} ALTER COLUMN ${ident(change.column)} SET DATA TYPE DOUBLE`,
            );
            stage.types[stage.columns.indexOf(change.column)] = 'FLOAT64';
          }
        }
      }
    },

    async appendRows(table: string, rows: readonly StagedRow[]): Promise<void> {
      const stage = await ensureStage(table);
      const appender = await connection.createAppender(stage.name, 'main', 'temp');
      const events = await connection.createAppender('_stage_events', 'main', 'temp');
      try {
        const { columns, types } = stage;
        for (const row of rows) {
          appender.appendVarchar(row.eventId);
          appender.appendBigInt(BigInt(row.line));
          appender.appendVarchar(row.receivedAt);
          for (let i = 0; i < columns.length; i++) {
            appendCell(appender, types[i] as LogicalType, row.values[columns[i] as string]);
          }
          appender.endRow();
          if (seenLines.add(row.line)) {
            events.appendVarchar(row.eventId);
            events.appendBigInt(BigInt(row.line));
            events.appendVarchar(row.receivedAt);
            events.endRow();
          }
        }
      } finally {
        appender.closeSync();
        events.closeSync();
      }
    },

    async appendFailed(failures: readonly FailedEvent[]): Promise<void> {
      const appender = await connection.createAppender('_stage_failed', 'main', 'temp');
      try {
        for (const f of failures) {
          appender.appendBigInt(BigInt(f.line));
          appendCell(appender, 'STRING', f.eventId);
          appender.appendVarchar(f.code);
          appender.appendVarchar(f.reason);
          appendCell(appender, 'STRING', f.raw);
          appender.appendBoolean(f.rawTruncated);
          appender.endRow();
        }
      } finally {
        appender.closeSync();
      }
    },

    async commit(summary: LoadSummary): Promise<LoadRecord> {
      await connection.run('BEGIN TRANSACTION');
      try {
        const existing = await findLoadIn(connection, meta.loadKey);
        if (existing) {
          await connection.run('ROLLBACK');
          await dropStages();
          return existing;
        }
        for (const statement of ddl) await connection.run(statement);
        await connection.run(
          `CREATE OR REPLACE TEMP TABLE _accepted AS
           SELECT f.event_id, f.line, f.received_at FROM (
             SELECT event_id, line, received_at,
                    row_number() OVER (PARTITION BY event_id ORDER BY line) AS rn
             FROM _stage_events) f
           WHERE f.rn = 1 AND NOT EXISTS (
             SELECT 1 FROM ${ident(TABLES.eventIds)} e
             WHERE e.id = f.event_id
               AND e.received_at >= CAST(f.received_at AS TIMESTAMPTZ) - to_milliseconds(${Math.trunc(meta.dedupWindowMs)}))`,
        );
        const staged = await count('SELECT count(*) FROM _stage_events');
        const eventsLoaded = await count('SELECT count(*) FROM _accepted');
        await connection.run(
          `INSERT INTO ${ident(TABLES.eventIds)} (id, received_at, load_id)
           SELECT event_id, CAST(received_at AS TIMESTAMPTZ), $1 FROM _accepted`,
          [meta.loadId],
        );
        let rowsWritten = 0;
        for (const [table, stage] of stages) {
          if (table === TABLES.users) {
            rowsWritten += await mergeUsers(stage);
            continue;
          }
          const cols = stage.columns.map(ident).join(', ');
          const values = stage.columns
            .map((c, i) => castFromStage(c, stage.types[i] as LogicalType))
            .join(', ');
          rowsWritten += await count(
            `INSERT INTO ${ident(table)} (${cols}) SELECT ${values} FROM ${ident(stage.name)} s
             SEMI JOIN _accepted a ON s._sluice_event_id = a.event_id AND s._sluice_line = a.line`,
          );
        }
        const common = [meta.loadId, meta.loadKey, meta.bucket, meta.name, meta.generation];
        await connection.run(
          `INSERT INTO ${ident(TABLES.failedEvents)}
           SELECT $1, $2, $3, $4, $5, line, event_id, error_code, reason, raw_line, raw_truncated,
                  CAST($6 AS TIMESTAMPTZ) FROM _stage_failed ORDER BY line`,
          [...common, meta.startedAt.toISOString()],
        );
        for (const change of summary.schemaChanges) {
          const column = change.kind === 'create_table' ? null : change.column;
          const from = change.kind === 'widen_column' ? change.from : null;
          const to =
            change.kind === 'add_column' ? change.type : change.kind === 'widen_column' ? change.to : null;
          await connection.run(
            `INSERT INTO ${ident(TABLES.schemaChanges)} VALUES ($1, $2, $3, $4, $5, $6, CAST($7 AS TIMESTAMPTZ))`,
            [meta.loadId, change.table, column, change.kind, from, to, meta.startedAt.toISOString()],
          );
        }
        const record: LoadRecord = {
          loadId: meta.loadId,
          loadKey: meta.loadKey,
          bucket: meta.bucket,
          name: meta.name,
          generation: meta.generation,
          status: 'complete',
          startedAt: meta.startedAt,
          finishedAt: summary.finishedAt,
          linesRead: summary.linesRead,
          bytesRead: summary.bytesRead,
          eventsLoaded,
          duplicates: staged - eventsLoaded,
          failed: summary.failed,
          valuesDiscarded: summary.valuesDiscarded,
          rowsWritten,
          schemaChanges: summary.schemaChanges,
        };
        await connection.run(
          `INSERT INTO ${ident(TABLES.loads)} VALUES ($1, $2, $3, $4, $5, 'complete', CAST($6 AS TIMESTAMPTZ),
             CAST($7 AS TIMESTAMPTZ), $8, $9, $10, $11, $12, $13, $14, $15, CAST($16 AS JSON), CAST($17 AS TIMESTAMPTZ))`,
          [
            ...common,
            record.startedAt.toISOString(),
            record.finishedAt.toISOString(),
            record.finishedAt.getTime() - record.startedAt.getTime(),
            record.linesRead,
            record.bytesRead,
            record.eventsLoaded,
            record.duplicates,
            record.failed,
            record.valuesDiscarded,
            record.rowsWritten,
            JSON.stringify(record.schemaChanges),
            record.finishedAt.toISOString(),
          ],
        );
        await connection.run('COMMIT');
        await dropStages();
        return record;
      } catch (error) {
        await connection.run('ROLLBACK').catch(() => undefined);
        throw error;
      }
    },

    async abort(): Promise<void> {
      await dropStages();
    },
  };
  return session;
}

export async function findLoadIn(
  connection: DuckDBConnection,
  loadKey: string,
): Promise<LoadRecord | undefined> {
  const reader = await connection.runAndReadAll(
    `SELECT load_id, load_key, bucket, name, generation, status,
            CAST(epoch_ms(started_at) AS DOUBLE) AS started_ms, CAST(epoch_ms(finished_at) AS DOUBLE) AS finished_ms,
            CAST(lines_read AS DOUBLE) AS lines_read, CAST(bytes_read AS DOUBLE) AS bytes_read,
            CAST(events_loaded AS DOUBLE) AS events_loaded, CAST(duplicates AS DOUBLE) AS duplicates,
            CAST(failed AS DOUBLE) AS failed, CAST(values_discarded AS DOUBLE) AS values_discarded,
            CAST(rows_written AS DOUBLE) AS rows_written, CAST(schema_changes AS VARCHAR) AS schema_changes
     FROM "_sluice_loads" WHERE load_key = $1 AND status = 'complete' LIMIT 1`,
    [loadKey],
  );
  const row = reader.getRowObjectsJS()[0];
  return row ? loadRecordFromRow(row) : undefined;
}
