import { createHash, randomUUID } from 'node:crypto';
import type { BigQueryConfig } from '../destinations/bigquery/bigquery-config.ts';
import {
  type BigQueryContextDeps,
  bigQueryContext,
  bigQuerySettings,
} from '../destinations/bigquery/bigquery-context.ts';
import { ensureTable, listTables, tableFields } from '../destinations/bigquery/schema-ops.ts';
import { q } from '../destinations/bigquery/sql.ts';
import { toFields } from '../destinations/bigquery/table-layout.ts';
import { bigQueryIdentityStore } from '../identity/bigquery-store.ts';
import type { Dialect, PrivacyWarehouse, StatementParams } from './warehouse.ts';

export function bigQueryDialect(projectId: string, datasetId: string): Dialect {
  return {
    table: (name) => q(`${projectId}.${datasetId}.${name}`),
    column: q,
    set: (name) => `(SELECT v FROM UNNEST(@${name}))`,
    value: (name) => `@${name}`,
    contains: (haystack, needle) => `STRPOS(${haystack}, ${needle}) > 0`,
    timestamp: (expr) => `CAST(${expr} AS TIMESTAMP)`,
    int: (expr) => `CAST(${expr} AS INT64)`,
    json: (expr) => `PARSE_JSON(${expr})`,
    day: (expr) => `CAST(DATE(${expr}) AS STRING)`,
  };
}

/** The REST shape of a set parameter: ARRAY<STRUCT<v STRING>> (read with `SELECT v FROM UNNEST(@name)`). */
function setParam(name: string, values: readonly string[]): Record<string, unknown> {
  return {
    name,
    parameterType: {
      type: 'ARRAY',
      arrayType: { type: 'STRUCT', structTypes: [{ name: 'v', type: { type: 'STRING' } }] },
    },
    parameterValue: { arrayValues: values.map((v) => ({ structValues: { v: { value: v } } })) },
  };
}

function queryParameters(sql: string, params: StatementParams): Record<string, unknown>[] {
  const used = (name: string): boolean => new RegExp(`@${name}\\b`).test(sql);
  const out: Record<string, unknown>[] = [];
  for (const [name, values] of Object.entries(params.sets ?? {}))
    if (used(name)) out.push(setParam(name, values));
  for (const [name, value] of Object.entries(params.values ?? {})) {
    if (!used(name)) continue;
    out.push({
      name,
      parameterType: { type: 'STRING' },
      parameterValue: value === null ? {} : { value },
    });
  }
  return out;
}

export type BigQueryWarehouseDeps = BigQueryContextDeps;

/** The BigQuery warehouse for a privacy request, through the destination's job runner and retry policy. */
export function bigQueryWarehouse(config: BigQueryConfig, deps: BigQueryWarehouseDeps): PrivacyWarehouse {
  const settings = bigQuerySettings(config);
  // Each call gets the whole time budget (a request is many statements, none of them on a function's clock).
  const ctx = bigQueryContext(settings, deps, (now) => now + settings.timeBudgetMs);
  const policy = ctx.policy;
  // Before a request is known (ledger reads, linked ids): fresh job ids. Then: <request>_<statement digest>.
  let scope: string | undefined;
  const run = async (sql: string, params: StatementParams) => {
    const queryParams = queryParameters(sql, params);
    const digest = createHash('sha256')
      .update(JSON.stringify([sql, queryParams]))
      .digest('hex')
      .slice(0, 32);
    const prefix = (scope ?? randomUUID()).replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 200);
    // The statement's kind and table in the id, for jobs.list and the audit log: `..._delete_tracks_<digest>`.
    const what = /^\s*(DELETE|INSERT|UPDATE|SELECT)\b(?:[\s\S]*?\bFROM\s+`[^`]*\.([^`.]+)`)?/i.exec(sql);
    const tag = `${(what?.[1] ?? 'query').toLowerCase()}_${(what?.[2] ?? '').replace(/[^A-Za-z0-9_]/g, '').slice(0, 60)}`;
    return ctx.jobs.run(
      `sluice_privacy_${prefix}_${tag}_${digest}`,
      { query: { query: sql, useLegacySql: false, parameterMode: 'NAMED', queryParameters: queryParams } },
      policy(),
    );
  };
  return {
    dialect: bigQueryDialect(settings.projectId, settings.datasetId),
    async tables() {
      const out = new Map<string, Set<string>>();
      for (const name of await listTables(ctx)) {
        const fields = await tableFields(ctx, name);
        if (fields) out.set(name.toLowerCase(), new Set(fields.map((f) => f.name.toLowerCase())));
      }
      return out;
    },
    async select(sql, params = {}) {
      const job = await run(sql, params);
      return ctx.jobs.rows(job.jobId, policy());
    },
    async exec(sql, params = {}) {
      const job = await run(sql, params);
      return {
        affected: Number(job.statistics.query?.numDmlAffectedRows ?? 0),
        bytesBilled: job.bytesBilled,
      };
    },
    async ensureTable(table, columns) {
      await ensureTable(ctx, table, toFields(columns));
    },
    setScope(requestId) {
      scope = requestId;
    },
    identityStore: () => bigQueryIdentityStore(ctx),
    async close() {
      // Pooled HTTP clients: nothing exclusive to release.
    },
  };
}
