import { createHash } from 'node:crypto';
import { LoaderError } from '../../errors.ts';
import type { LogicalType, SchemaChange, WarehouseSchema } from '../destination.ts';
import type { BigQueryContext } from './bigquery-context.ts';
import { BIGQUERY_CAPABILITIES } from './capabilities.ts';
import { withRetry } from './retry.ts';
import { q } from './sql.ts';
import { idFragment } from './staging.ts';
import {
  type BigQueryField,
  fromFieldType,
  layoutFor,
  STAGING_TABLE_PREFIX,
  toFields,
} from './table-layout.ts';

/**
 * Creates a table unless it exists (a 409 from a concurrent creator is success). Returns the table's
 * `creationTime`, which identifies this incarnation of the table (a dropped and re-created table has a new one).
 */
export async function ensureTable(
  ctx: BigQueryContext,
  table: string,
  fields: BigQueryField[],
  extra: object = {},
): Promise<{ outcome: 'created' | 'exists'; creationTime: string }> {
  const { projectId, datasetId } = ctx.settings;
  const result = await withRetry(ctx.policy(), `tables.insert ${table}`, async () => {
    const [, metadata] = await ctx.bigquery.dataset(datasetId).createTable(table, {
      tableReference: { projectId, datasetId, tableId: table },
      schema: { fields },
      ...extra,
    });
    return metadata as { creationTime?: string };
  });
  if (result.ok) return { outcome: 'created', creationTime: String(result.value.creationTime ?? '') };
  if (result.kind === 'duplicate') {
    const got = await withRetry(ctx.policy(), `tables.get ${table}`, async () => {
      const [metadata] = await ctx.bigquery.dataset(datasetId).table(table).getMetadata();
      return metadata as { creationTime?: string };
    });
    return { outcome: 'exists', creationTime: got.ok ? String(got.value.creationTime ?? '') : '' };
  }
  throw new LoaderError(
    'SLUICE_ERR_LOAD_DESTINATION_REJECTED',
    `dataset ${datasetId} not found creating ${table}`,
    {
      cause: result.error,
    },
  );
}

/** Fields of a table, or undefined when it does not exist. */
export async function tableFields(ctx: BigQueryContext, table: string): Promise<BigQueryField[] | undefined> {
  const got = await withRetry(ctx.policy(), `tables.get ${table}`, async () => {
    const [metadata] = await ctx.bigquery.dataset(ctx.settings.datasetId).table(table).getMetadata();
    return metadata as { schema?: { fields?: BigQueryField[] } };
  });
  if (!got.ok) return undefined;
  return got.value.schema?.fields ?? [];
}

/** A table's columns as Sluice types, names lower-cased (fields of types Sluice never writes are left out). */
export function columnTypes(fields: readonly BigQueryField[]): Map<string, LogicalType> {
  const columns = new Map<string, LogicalType>();
  for (const f of fields) {
    const type = fromFieldType(f.type);
    if (type) columns.set(f.name.toLowerCase(), type);
  }
  return columns;
}

/** Names of the tables in the dataset, staging tables excluded (one paged tables.list). */
export async function listTables(ctx: BigQueryContext): Promise<string[]> {
  const listed = await withRetry(ctx.policy(), 'tables.list', async () => {
    const [tables] = await ctx.bigquery.dataset(ctx.settings.datasetId).getTables({ autoPaginate: true });
    return tables.map((t) => String(t.id));
  });
  return listed.ok ? listed.value.filter((n) => !n.startsWith(STAGING_TABLE_PREFIX)) : [];
}

/** Current schema of every Sluice table in the dataset (staging tables excluded), names lower-cased. */
export async function readWarehouseSchema(ctx: BigQueryContext): Promise<WarehouseSchema> {
  const names = await listTables(ctx);
  const schema: WarehouseSchema = new Map();
  const queue = [...names];
  const worker = async (): Promise<void> => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const fields = await tableFields(ctx, name);
      if (!fields) continue; // dropped between list and get
      schema.set(name.toLowerCase(), columnTypes(fields));
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, names.length) }, worker));
  return schema;
}

/**
 * Applies schema changes with BigQuery's rules: new tables through tables.insert (with partitioning and
 * clustering), new columns with `ALTER TABLE ... ADD COLUMN IF NOT EXISTS` (one statement per table: table
 * metadata updates are rate-limited to 5 per 10 s per table), INT64 -> FLOAT64 with `ALTER COLUMN ... SET DATA
 * TYPE` (an allowed coercion, in place). DDL is free and idempotent; its job ids derive from the load and the
 * change, so a retried delivery finds its job.
 */
export async function applySchemaChanges(
  ctx: BigQueryContext,
  loadHash: string,
  changes: readonly SchemaChange[],
  schema: WarehouseSchema,
): Promise<void> {
  const { projectId, datasetId } = ctx.settings;
  const ddl = new Map<string, string[]>();
  for (const change of changes) {
    const existing = schema.get(change.table);
    if (change.kind === 'create_table') {
      const fields = toFields(change.columns);
      const outcome = await ensureTable(ctx, change.table, fields, layoutFor(change.table, change.columns));
      const columns = existing ?? new Map<string, LogicalType>();
      if (outcome.outcome === 'exists') {
        // Created concurrently by another delivery: make sure our columns exist too.
        for (const c of change.columns) {
          if (!columns.has(c.name))
            ddlFor(ddl, change.table).push(
              `ADD COLUMN IF NOT EXISTS ${q(c.name)} ${BIGQUERY_CAPABILITIES.typeMap[c.type]}`,
            );
        }
      }
      for (const c of change.columns) columns.set(c.name, c.type);
      schema.set(change.table, columns);
    } else if (change.kind === 'add_column') {
      ddlFor(ddl, change.table).push(
        `ADD COLUMN IF NOT EXISTS ${q(change.column)} ${BIGQUERY_CAPABILITIES.typeMap[change.type]}`,
      );
      (existing ?? schema.set(change.table, new Map()).get(change.table)!).set(change.column, change.type);
    } else {
      ddlFor(ddl, change.table).push(`ALTER COLUMN ${q(change.column)} SET DATA TYPE FLOAT64`);
      existing?.set(change.column, 'FLOAT64');
    }
  }
  for (const [table, clauses] of ddl) {
    const adds = clauses.filter((c) => c.startsWith('ADD'));
    const alters = clauses.filter((c) => c.startsWith('ALTER'));
    const statements = [
      ...(adds.length > 0
        ? [`ALTER TABLE ${q(`${projectId}.${datasetId}.${table}`)} ${adds.join(', ')}`]
        : []),
      ...alters.map((a) => `ALTER TABLE ${q(`${projectId}.${datasetId}.${table}`)} ${a}`),
    ];
    const sql = `${statements.join(';\n')};`;
    const digest = createHash('sha256').update(sql).digest('hex').slice(0, 12);
    await ctx.jobs.run(
      `sluice_ddl_${loadHash}_${idFragment(table, 120)}_${digest}`,
      { query: { query: sql, useLegacySql: false } },
      ctx.policy(),
    );
  }
}

function ddlFor(ddl: Map<string, string[]>, table: string): string[] {
  const list = ddl.get(table) ?? [];
  ddl.set(table, list);
  return list;
}
