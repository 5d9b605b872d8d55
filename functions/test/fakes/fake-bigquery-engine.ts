import { type DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import { prunedBytes } from './fake-bigquery-pruning.ts';
import {
  bigQueryType,
  checkFieldNames,
  dmlTarget,
  encodeForLoad,
  encodeForResult,
  FakeBigQueryError,
  type FakeField,
  splitStatements,
  translate,
} from './fake-bigquery-values.ts';

import { FakeViews } from './fake-bigquery-views.ts';

export { dmlTarget, FakeBigQueryError, type FakeField } from './fake-bigquery-values.ts';

export interface FakeTable {
  datasetId: string;
  tableId: string;
  resource: Record<string, unknown>;
  fields: FakeField[];
}

export interface QueryOutcome {
  statementType: string;
  /** Bytes processed: the referenced columns of the partitions it scans, + t' for DML (fake-bigquery-pruning.ts). */
  bytesProcessed: number;
  /** On-demand bytes billed (see `FakeBigQueryEngine.begin`). */
  bytesBilled: number;
  affectedRows: number;
  /** DML rows inserted / updated-or-deleted (BigQuery's `dmlStats`). */
  inserted: number;
  updated: number;
  schema: FakeField[];
  /** Rows in the REST `f/v` shape with BigQuery's string encodings. */
  rows: { f: { v: string | null }[] }[];
}

const DUCK_TYPE: Record<string, string> = {
  STRING: 'VARCHAR',
  INT64: 'BIGINT',
  INTEGER: 'BIGINT',
  FLOAT64: 'DOUBLE',
  FLOAT: 'DOUBLE',
  BOOL: 'BOOLEAN',
  BOOLEAN: 'BOOLEAN',
  TIMESTAMP: 'TIMESTAMPTZ',
  JSON: 'VARCHAR',
  NUMERIC: 'DECIMAL(38,9)',
  DATE: 'DATE',
};

function duckType(type: string): string {
  const t = DUCK_TYPE[type.toUpperCase()];
  if (!t) throw new FakeBigQueryError('invalid', `fake BigQuery does not support type ${type}`);
  return t;
}

/** An ARRAY<STRUCT> query parameter as rows (values as REST strings). */
export interface ParamTable {
  columns: { name: string; type: string }[];
  rows: (string | null)[][];
}

/** A query job whose transaction is still open (see `FakeBigQueryEngine.begin`). */
export interface PendingQuery {
  outcome: QueryOutcome;
  /** Tables (`dataset.table`, lower case) that its DML statements write. */
  written: Set<string>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

const TEN_MB = 10 * 1024 * 1024;
const MB = 1024 * 1024;
const roundUpMb = (bytes: number): number => Math.ceil(bytes / MB) * MB;

const qi = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/**
 * Table storage and SQL execution for the fake, on an in-memory DuckDB. BigQuery SQL that Sluice emits is
 * translated mechanically (backtick names -> schema-qualified DuckDB names, BigQuery types -> DuckDB types,
 * `@param` -> `$param`) and then really executed, so MERGE/DELETE/SELECT semantics are exercised — but BigQuery's
 * own parser is NOT (billing follows the documented minimums and pruning rules, see `begin`): only the live
 * suite proves the SQL is valid BigQuery.
 */
export class FakeBigQueryEngine {
  readonly #tables = new Map<string, FakeTable>();
  readonly #bytes = new Map<string, number>();
  #connection: DuckDBConnection | undefined;
  #instance: DuckDBInstance | undefined;
  readonly #schemas = new Set<string>();
  #macrosReady = false;
  /** "Maximum number of columns per table: 10,000" (https://cloud.google.com/bigquery/quotas#table_limits). */
  columnLimit: () => number = () => 10_000;
  /** Logical views (fake-bigquery-views.ts): stored as SQL, expanded into the queries that name them. */
  readonly views = new FakeViews();

  #checkColumns(table: string, count: number): void {
    if (count > this.columnLimit()) {
      throw new FakeBigQueryError(
        'invalid',
        `Too many columns (${count}) in schema of ${table}. Only ${this.columnLimit()} columns are allowed.`,
      );
    }
  }

  async #db(): Promise<DuckDBConnection> {
    if (!this.#connection) {
      this.#instance = await DuckDBInstance.create(':memory:');
      this.#connection = await this.#instance.connect();
    }
    return this.#connection;
  }

  close(): void {
    this.#connection?.closeSync();
    this.#instance?.closeSync();
  }

  table(datasetId: string, tableId: string): FakeTable | undefined {
    return this.#tables.get(`${datasetId}.${tableId.toLowerCase()}`);
  }

  tables(datasetId: string): FakeTable[] {
    return [...this.#tables.values()].filter((t) => t.datasetId === datasetId);
  }

  async createTable(
    datasetId: string,
    tableId: string,
    resource: Record<string, unknown>,
  ): Promise<FakeTable> {
    const fields = (
      ((resource.schema as { fields?: FakeField[] } | undefined)?.fields ?? []) as FakeField[]
    ).map((f) => ({ ...f, type: f.type.toUpperCase() }));
    const table: FakeTable = { datasetId, tableId, resource: { ...resource }, fields };
    if (resource.view !== undefined) {
      this.views.define(datasetId, tableId, resource.view as Record<string, unknown>);
      table.resource.type = 'VIEW';
      this.#tables.set(`${datasetId}.${tableId.toLowerCase()}`, table);
      return table;
    }
    checkFieldNames(fields);
    this.#checkColumns(tableId, fields.length);
    const db = await this.#db();
    if (!this.#schemas.has(datasetId)) {
      await db.run(`CREATE SCHEMA IF NOT EXISTS ${qi(datasetId)}`);
      this.#schemas.add(datasetId);
    }
    const cols = fields.map((f) => `${qi(f.name.toLowerCase())} ${duckType(f.type)}`);
    await db.run(
      `CREATE TABLE ${qi(datasetId)}.${qi(tableId.toLowerCase())} (${cols.join(', ') || '"_empty" VARCHAR'})`,
    );
    this.#tables.set(`${datasetId}.${tableId.toLowerCase()}`, table);
    this.#bytes.set(`${datasetId}.${tableId.toLowerCase()}`, 0);
    return table;
  }

  async dropTable(datasetId: string, tableId: string): Promise<boolean> {
    const key = `${datasetId}.${tableId.toLowerCase()}`;
    if (!this.#tables.has(key)) return false;
    if (this.views.drop(datasetId, tableId)) {
      this.#tables.delete(key);
      return true;
    }
    await (await this.#db()).run(`DROP TABLE ${qi(datasetId)}.${qi(tableId.toLowerCase())}`);
    this.#tables.delete(key);
    this.#bytes.delete(key);
    return true;
  }

  /** tables.patch / a load's field addition: new NULLABLE fields only; existing fields may not change type. */
  async addFields(table: FakeTable, fields: FakeField[], allowAddition: boolean): Promise<void> {
    checkFieldNames(fields);
    const byName = new Map(table.fields.map((f) => [f.name.toLowerCase(), f]));
    const added: FakeField[] = [];
    for (const field of fields) {
      const existing = byName.get(field.name.toLowerCase());
      if (existing) {
        if (existing.type !== field.type.toUpperCase()) {
          throw new FakeBigQueryError(
            'invalid',
            `Provided Schema does not match Table. Field ${field.name} has changed type from ${existing.type} to ${field.type}`,
          );
        }
        continue;
      }
      if (!allowAddition) {
        throw new FakeBigQueryError(
          'invalid',
          `Provided Schema does not match Table. Cannot add fields (field: ${field.name})`,
        );
      }
      if ((field.mode ?? 'NULLABLE') === 'REQUIRED') {
        throw new FakeBigQueryError('invalid', `Cannot add required field ${field.name}`);
      }
      added.push({ ...field, type: field.type.toUpperCase() });
    }
    const db = await this.#db();
    for (const field of added) {
      await db.run(
        `ALTER TABLE ${qi(table.datasetId)}.${qi(table.tableId.toLowerCase())} ADD COLUMN ${qi(field.name.toLowerCase())} ${duckType(field.type)}`,
      );
      table.fields.push(field);
    }
    table.resource.schema = { fields: table.fields };
  }

  /** Appends (or replaces, for WRITE_TRUNCATE) rows; values are validated against the schema like a load. */
  async insertRows(table: FakeTable, rows: Record<string, unknown>[], truncate: boolean): Promise<void> {
    const db = await this.#db();
    const name = `${qi(table.datasetId)}.${qi(table.tableId.toLowerCase())}`;
    const key = `${table.datasetId}.${table.tableId.toLowerCase()}`;
    if (truncate) {
      await db.run(`DELETE FROM ${name}`);
      this.#bytes.set(key, 0);
    }
    const byName = new Map(table.fields.map((f) => [f.name.toLowerCase(), f]));
    let bytes = this.#bytes.get(key) ?? 0;
    for (const [index, row] of rows.entries()) {
      const cols: string[] = [];
      const values: (string | null)[] = [];
      for (const [column, value] of Object.entries(row)) {
        const field = byName.get(column.toLowerCase());
        if (!field) {
          throw new FakeBigQueryError(
            'invalid',
            `Error while reading data, error message: JSON table encountered too many errors. Row ${index}: No such field: ${column}.`,
          );
        }
        cols.push(qi(field.name.toLowerCase()));
        values.push(encodeForLoad(field, value, index));
      }
      for (const field of table.fields) {
        if (field.mode === 'REQUIRED' && (row[field.name] ?? null) === null) {
          throw new FakeBigQueryError('invalid', `Row ${index}: missing required field ${field.name}`);
        }
      }
      if (cols.length === 0) continue;
      const placeholders = cols.map(
        (c, i) => `CAST($${i + 1} AS ${duckType(byName.get(c.slice(1, -1).replaceAll('""', '"'))!.type)})`,
      );
      await db.run(`INSERT INTO ${name} (${cols.join(', ')}) VALUES (${placeholders.join(', ')})`, values);
      bytes += Buffer.byteLength(JSON.stringify(row));
    }
    this.#bytes.set(key, bytes);
  }

  /**
   * Runs a query job's SQL to completion (begin + commit): see `begin`.
   */
  async query(sql: string, params: Record<string, DuckDBValue>): Promise<QueryOutcome> {
    const pending = await this.begin(sql, params);
    await pending.commit();
    return pending.outcome;
  }

  /**
   * Starts a query job: one statement or a script (statements split on top-level `;`). A job with DML or SELECTs
   * runs on its own DuckDB connection inside one DuckDB transaction that stays open until `commit()`: DuckDB's MVCC
   * gives the job a consistent snapshot (it does not see what other jobs commit meanwhile, and they do not see its
   * writes until it commits) — BigQuery's snapshot isolation ("During a transaction, all reads return a consistent
   * snapshot of the tables referenced in the transaction", https://cloud.google.com/bigquery/docs/transactions).
   * The script's own `BEGIN TRANSACTION`/`COMMIT TRANSACTION` are folded into that transaction; temp tables live
   * on the job's connection, until the end of the job. A failing statement rolls the whole job back. DDL-only jobs
   * (ALTER/DROP) run on the shared connection, autocommitted.
   *
   * Billing (https://cloud.google.com/bigquery/pricing#on_demand_pricing): each statement bills its bytes
   * processed rounded up to the next MB, and at least 10 MB per table it references (permanent or temp; an
   * INSERT/MERGE target counts as referenced); a query job bills at least 10 MB; DDL without AS SELECT and
   * BEGIN/COMMIT bill nothing. `bytesProcessed` (partition pruning modelled, fake-bigquery-pruning.ts) is
   * reported apart from `bytesBilled`.
   */
  async begin(
    sql: string,
    params: Record<string, DuckDBValue>,
    arrays: Record<string, ParamTable> = {},
  ): Promise<PendingQuery> {
    // An ARRAY<STRUCT> parameter read with `UNNEST(@name)` becomes a temp table of the job (not a table
    // reference: it bills nothing, as a parameter does not in BigQuery).
    const statements = splitStatements(sql).map((st) =>
      this.views
        .expand(st)
        .replace(/UNNEST\(@(\w+)\)/gi, (m, name: string) => (arrays[name] ? `__param_${name}` : m)),
    );
    const main = await this.#db();
    await this.#macros(main);
    const ddlOnly = statements.every((s) => /^(ALTER|DROP) TABLE/i.test(s.trim()));
    const db = ddlOnly ? main : await this.#instance!.connect();
    const own = db !== main;
    let outcome: QueryOutcome = {
      statementType: 'SCRIPT',
      bytesProcessed: 0,
      bytesBilled: 0,
      affectedRows: 0,
      inserted: 0,
      updated: 0,
      schema: [],
      rows: [],
    };
    let bytesProcessed = 0;
    let bytesBilled = 0;
    const temps = new Set<string>();
    const written = new Set<string>();
    const ddl: { statementType: string; statement: string }[] = [];
    let inserted = 0;
    let updated = 0;
    if (own) await db.run('BEGIN TRANSACTION');
    try {
      for (const [name, table] of Object.entries(arrays)) {
        const cols = table.columns.map((c) => `${qi(c.name.toLowerCase())} ${duckType(c.type)}`);
        await db.run(`CREATE TEMP TABLE ${qi(`__param_${name}`)} (${cols.join(', ')})`);
        const placeholders = table.columns.map((c, i) => `CAST($${i + 1} AS ${duckType(c.type)})`).join(', ');
        for (const row of table.rows) {
          await db.run(`INSERT INTO ${qi(`__param_${name}`)} VALUES (${placeholders})`, row);
        }
      }
      for (const statement of statements) {
        const trimmed = statement.trim();
        if (/^(BEGIN|COMMIT) TRANSACTION$/i.test(trimmed)) continue;
        const { translated, referenced, statementType } = translate(statement);
        if (statementType === 'ALTER_TABLE') this.#checkAlter(statement);
        let statementBytes = 0;
        // Partition pruning and DML's q' + t' (fake-bigquery-pruning.ts), before the statement changes the table.
        const mutating =
          ['DELETE', 'UPDATE'].includes(statementType) ||
          (statementType === 'MERGE' && /WHEN\s+MATCHED/i.test(statement));
        for (const key of referenced) {
          const table = this.#tables.get(key);
          statementBytes += table
            ? await prunedBytes(db, table, statement, params, mutating && dmlTarget(statement) === key)
            : (this.#bytes.get(key) ?? 0);
        }
        const tempRefs = [...temps].filter((t) => new RegExp(`\\b${t}\\b`, 'i').test(statement)).length;
        const temp = /^CREATE TEMP TABLE (\w+)/i.exec(trimmed);
        if (temp) temps.add(temp[1]!);
        const tables = referenced.size + tempRefs;
        const billable = !['ALTER_TABLE', 'DROP_TABLE'].includes(statementType) || temp !== null;
        if (billable) {
          bytesBilled += Math.max(roundUpMb(statementBytes), tables * TEN_MB);
          bytesProcessed += statementBytes;
        }
        const target = dmlTarget(statement);
        // BigQuery reports a MERGE's inserted and updated rows apart (dmlStats); DuckDB one total: the growth of
        // the target inside the job's transaction is the inserted count (Sluice's MERGEs never delete).
        const before = statementType === 'MERGE' && target ? await this.#count(db, target) : 0;
        let last: Awaited<ReturnType<DuckDBConnection['runAndReadAll']>> | undefined;
        for (const part of translated) {
          const used = Object.fromEntries(
            Object.entries(params).filter(([k]) => new RegExp(`\\$${k}\\b`).test(part)),
          );
          last = await db.runAndReadAll(part, used);
        }
        if (statementType === 'SELECT' && last) {
          const names = last.columnNames();
          const types = last.columnTypes().map(String);
          const schema = names.map((n, i) => ({
            name: n,
            type: bigQueryType(types[i] ?? 'VARCHAR'),
            mode: 'NULLABLE',
          }));
          const rows = last.getRows().map((r) => ({ f: r.map((v) => ({ v: encodeForResult(v) })) }));
          outcome = { ...outcome, statementType, schema, rows };
        } else {
          const first = last?.getRows()[0]?.[0];
          const affected = typeof first === 'bigint' || typeof first === 'number' ? Number(first) : 0;
          outcome = { ...outcome, statementType, affectedRows: affected };
          ddl.push({ statementType, statement });
          if (target && ['INSERT', 'MERGE', 'UPDATE', 'DELETE'].includes(statementType)) {
            written.add(target);
            if (statementType === 'INSERT') inserted += affected;
            else if (statementType === 'MERGE') {
              const grown = (await this.#count(db, target)) - before;
              inserted += grown;
              updated += affected - grown;
            } else updated += affected;
          }
        }
      }
    } catch (error) {
      if (own) {
        await db.run('ROLLBACK').catch(() => undefined);
        db.closeSync();
      }
      if (error instanceof FakeBigQueryError) throw error;
      throw new FakeBigQueryError(
        'invalidQuery',
        `fake BigQuery (DuckDB) rejected: ${(error as Error).message}`,
      );
    }
    if (bytesBilled > 0) bytesBilled = Math.max(bytesBilled, TEN_MB);
    const result: QueryOutcome = {
      ...outcome,
      statementType: statements.length > 1 ? 'SCRIPT' : outcome.statementType,
      bytesProcessed,
      bytesBilled,
      inserted,
      updated,
    };
    let settled = false;
    return {
      outcome: result,
      written,
      commit: async () => {
        if (settled) return;
        settled = true;
        if (own) {
          await db.run('COMMIT');
          db.closeSync();
        }
        for (const d of ddl) this.#afterDdl(d.statementType, d.statement);
        for (const key of written)
          if (this.#tables.has(key)) this.#bytes.set(key, await this.#tableBytes(key));
      },
      rollback: async () => {
        if (settled) return;
        settled = true;
        if (own) {
          await db.run('ROLLBACK').catch(() => undefined);
          db.closeSync();
        }
      },
    };
  }

  async #count(db: DuckDBConnection, key: string): Promise<number> {
    const [datasetId, tableId] = key.split('.') as [string, string];
    const reader = await db.runAndReadAll(`SELECT count(*) FROM ${qi(datasetId)}.${qi(tableId)}`);
    return Number(reader.getRows()[0]?.[0] ?? 0);
  }

  /** Shims for BigQuery functions DuckDB lacks (JSON is stored as text in the fake). */
  async #macros(db: DuckDBConnection): Promise<void> {
    if (this.#macrosReady) return;
    await db.run('CREATE MACRO parse_json(x) AS x');
    await db.run('CREATE MACRO to_json_string(x) AS x');
    // BigQuery's DATE(timestamp) is the UTC date.
    await db.run("SET TimeZone = 'UTC'");
    this.#macrosReady = true;
  }

  async #tableBytes(key: string): Promise<number> {
    const [datasetId, tableId] = key.split('.') as [string, string];
    const db = await this.#db();
    const reader = await db.runAndReadAll(
      `SELECT coalesce(sum(length(to_json(t)::VARCHAR)), 0) FROM ${qi(datasetId)}.${qi(tableId)} t`,
    );
    return Number(reader.getRows()[0]?.[0] ?? 0);
  }

  #checkAlter(statement: string): void {
    const name = /^ALTER TABLE `([^`]+)`/i.exec(statement.trim())?.[1];
    if (!name) return;
    const parts = name.split('.');
    const table = this.#tables.get(`${parts.at(-2)}.${parts.at(-1)!.toLowerCase()}`);
    if (!table) return;
    const names = new Set(table.fields.map((f) => f.name.toLowerCase()));
    for (const add of statement.matchAll(/ADD COLUMN (?:IF NOT EXISTS )?`([^`]+)`/gi))
      names.add(add[1]!.toLowerCase());
    this.#checkColumns(table.tableId, names.size);
  }

  /** Keeps the table resources in step with DDL run through queries (ALTER ... SET DATA TYPE / ADD COLUMN, DROP). */
  #afterDdl(statementType: string, statement: string): void {
    const name = /^(?:ALTER|DROP) TABLE (?:IF EXISTS )?`([^`]+)`/i.exec(statement.trim())?.[1];
    if (!name) return;
    const parts = name.split('.');
    const key = `${parts.at(-2)}.${parts.at(-1)!.toLowerCase()}`;
    if (statementType === 'DROP_TABLE') {
      this.#tables.delete(key);
      this.#bytes.delete(key);
      return;
    }
    const table = this.#tables.get(key);
    if (!table) return;
    for (const alter of statement.matchAll(/ALTER COLUMN `([^`]+)` SET DATA TYPE (\w+)/gi)) {
      const field = table.fields.find((f) => f.name.toLowerCase() === alter[1]!.toLowerCase());
      if (field) field.type = alter[2]!.toUpperCase();
    }
    for (const add of statement.matchAll(/ADD COLUMN (?:IF NOT EXISTS )?`([^`]+)` (\w+)/gi)) {
      if (!table.fields.some((f) => f.name.toLowerCase() === add[1]!.toLowerCase())) {
        table.fields.push({ name: add[1]!, type: add[2]!.toUpperCase(), mode: 'NULLABLE' });
      }
    }
    table.resource.schema = { fields: table.fields };
  }
}
