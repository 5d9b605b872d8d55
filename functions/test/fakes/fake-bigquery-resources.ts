import type { JobRecord } from './fake-bigquery.ts';
import type { FakeBigQueryEngine, FakeField } from './fake-bigquery-engine.ts';
import { FakeBigQueryError } from './fake-bigquery-engine.ts';
import type { FakeLimits, TableQuotas } from './fake-bigquery-rules.ts';
import type { FakeGcs } from './fake-gcs.ts';
import { apiError, type FakeResponse, json } from './fake-http.ts';

/** What the REST handlers below need of the fake (see fake-bigquery.ts). */
export interface FakeBigQueryState {
  readonly project: string;
  readonly datasets: Map<string, Record<string, unknown>>;
  readonly jobs: Map<string, JobRecord>;
  readonly engine: FakeBigQueryEngine;
  readonly gcs: FakeGcs;
  readonly limits: FakeLimits;
  readonly quotas: TableQuotas;
  nextCreationTime(): number;
}

/** datasets get/insert; tables get/insert/patch/delete/list. */
export async function handleDatasets(
  fake: FakeBigQueryState,
  method: string,
  rest: string[],
  body: unknown,
): Promise<FakeResponse> {
  const [datasetId, sub, tableId] = rest;
  if (datasetId === undefined) {
    if (method !== 'POST') return apiError(501, 'notImplemented', 'datasets.list');
    const resource = body as { datasetReference?: { datasetId?: string }; location?: string };
    const id = resource.datasetReference?.datasetId;
    if (!id) return apiError(400, 'invalid', 'datasetReference.datasetId is required');
    if (fake.datasets.has(id))
      return apiError(409, 'duplicate', `Already Exists: Dataset ${fake.project}:${id}`);
    const created = {
      kind: 'bigquery#dataset',
      id: `${fake.project}:${id}`,
      location: 'US',
      ...resource,
      datasetReference: { projectId: fake.project, datasetId: id },
    };
    fake.datasets.set(id, created);
    return json(200, created);
  }
  const dataset = fake.datasets.get(datasetId);
  if (!dataset) return apiError(404, 'notFound', `Not found: Dataset ${fake.project}:${datasetId}`);
  if (sub === undefined) {
    if (method === 'GET') return json(200, dataset);
    return apiError(501, 'notImplemented', `${method} dataset`);
  }
  if (sub !== 'tables') return apiError(501, 'notImplemented', sub);
  if (tableId === undefined) {
    if (method === 'GET') {
      const tables = fake.engine.tables(datasetId).map((t) => ({
        kind: 'bigquery#table',
        id: `${fake.project}:${datasetId}.${t.tableId}`,
        tableReference: { projectId: fake.project, datasetId, tableId: t.tableId },
        type: t.resource.type === 'VIEW' ? 'VIEW' : 'TABLE',
      }));
      return json(200, { kind: 'bigquery#tableList', tables, totalItems: tables.length });
    }
    if (method !== 'POST') return apiError(501, 'notImplemented', `${method} tables`);
    const resource = body as { tableReference?: { tableId?: string } };
    const id = resource.tableReference?.tableId;
    if (!id) return apiError(400, 'invalid', 'tableReference.tableId is required');
    if (fake.engine.table(datasetId, id)) {
      return apiError(409, 'duplicate', `Already Exists: Table ${fake.project}:${datasetId}.${id}`);
    }
    const table = await fake.engine.createTable(datasetId, id, {
      kind: 'bigquery#table',
      ...resource,
      id: `${fake.project}:${datasetId}.${id}`,
      tableReference: { projectId: fake.project, datasetId, tableId: id },
      creationTime: String(fake.nextCreationTime()),
    });
    return json(200, table.resource);
  }
  const table = fake.engine.table(datasetId, tableId);
  if (!table) return apiError(404, 'notFound', `Not found: Table ${fake.project}:${datasetId}.${tableId}`);
  if (method === 'GET') return json(200, { ...table.resource, numRows: undefined });
  if (method === 'DELETE') {
    await fake.engine.dropTable(datasetId, tableId);
    return { status: 204 };
  }
  if (method === 'PATCH' || method === 'PUT') {
    const patch = body as { schema?: { fields?: FakeField[] } } & Record<string, unknown>;
    if (patch.schema?.fields) {
      const given = patch.schema.fields;
      const missing = table.fields.filter(
        (f) => !given.some((g) => g.name.toLowerCase() === f.name.toLowerCase()),
      );
      if (missing.length > 0) {
        return apiError(
          400,
          'invalid',
          `Provided Schema does not match Table. Field ${missing[0]!.name} is missing in new schema`,
        );
      }
      await fake.engine.addFields(table, given, true);
    }
    for (const [key, value] of Object.entries(patch)) {
      if (key !== 'schema') table.resource[key] = value;
    }
    return json(200, table.resource);
  }
  return apiError(501, 'notImplemented', `${method} table`);
}

/**
 * A load job: reads NDJSON from the fake GCS, checks the quotas (before the job can fail: failed jobs count), the
 * row size and column limits, then validates rows against the explicit schema.
 */
export async function runLoad(
  fake: FakeBigQueryState,
  load: LoadConfiguration,
): Promise<Record<string, string>> {
  if (load.sourceFormat !== 'NEWLINE_DELIMITED_JSON') {
    throw new FakeBigQueryError(
      'invalid',
      `fake BigQuery loads NEWLINE_DELIMITED_JSON only, got ${String(load.sourceFormat)}`,
    );
  }
  const destination = load.destinationTable;
  if (!destination?.datasetId || !destination.tableId)
    throw new FakeBigQueryError('invalid', 'destinationTable required');
  if (!fake.datasets.has(destination.datasetId)) {
    throw new FakeBigQueryError('notFound', `Not found: Dataset ${fake.project}:${destination.datasetId}`);
  }
  const rows: Record<string, unknown>[] = [];
  let largestRow = 0;
  let inputBytes = 0;
  for (const uri of load.sourceUris ?? []) {
    const m = /^gs:\/\/([^/]+)\/(.+)$/.exec(uri);
    const object = m ? fake.gcs.get(m[1]!, m[2]!) : undefined;
    if (!object) throw new FakeBigQueryError('notFound', `Not found: URI ${uri}`);
    inputBytes += object.data.length;
    for (const [i, line] of object.data.toString('utf8').split('\n').entries()) {
      if (line.trim() === '') continue;
      largestRow = Math.max(largestRow, Buffer.byteLength(line));
      try {
        rows.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        throw new FakeBigQueryError(
          'invalid',
          `Error while reading data, error message: JSON parsing error in row starting at position ${i}`,
        );
      }
    }
  }
  const fields = (load.schema?.fields ?? []).map((f) => ({ ...f, type: f.type.toUpperCase() }));
  let table = fake.engine.table(destination.datasetId, destination.tableId);
  const partitioning = (table?.resource.timePartitioning ?? load.timePartitioning) as
    | { field?: string }
    | undefined;
  const partitions = new Set<string>();
  if (partitioning?.field) {
    const field = partitioning.field.toLowerCase();
    for (const row of rows) {
      const key = Object.keys(row).find((k) => k.toLowerCase() === field);
      const value = key === undefined ? null : row[key];
      partitions.add(typeof value === 'string' ? new Date(value).toISOString().slice(0, 10) : '__NULL__');
    }
  }
  // Counted before the job can fail: "Failed load jobs still count toward both per-table and per-project quotas".
  fake.quotas.chargeLoad(
    `${destination.datasetId}.${destination.tableId.toLowerCase()}`,
    partitioning !== undefined,
    partitions.size,
  );
  if (largestRow > fake.limits.maxRowBytes) {
    throw new FakeBigQueryError(
      'invalid',
      `Error while reading data, error message: Row size ${largestRow} is larger than the maximum allowed size ${fake.limits.maxRowBytes}`,
    );
  }
  const known = new Set((table?.fields ?? []).map((f) => f.name.toLowerCase()));
  for (const f of fields) known.add(f.name.toLowerCase());
  if (known.size > fake.limits.maxColumns) {
    throw new FakeBigQueryError(
      'invalid',
      `Too many columns (${known.size}) in schema. Only ${fake.limits.maxColumns} columns are allowed.`,
    );
  }
  const writeDisposition = load.writeDisposition ?? 'WRITE_APPEND';
  if (!table) {
    if ((load.createDisposition ?? 'CREATE_IF_NEEDED') !== 'CREATE_IF_NEEDED') {
      throw new FakeBigQueryError(
        'notFound',
        `Not found: Table ${destination.datasetId}.${destination.tableId}`,
      );
    }
    table = await fake.engine.createTable(destination.datasetId, destination.tableId, {
      kind: 'bigquery#table',
      tableReference: {
        projectId: fake.project,
        datasetId: destination.datasetId,
        tableId: destination.tableId,
      },
      schema: { fields },
      ...(load.timePartitioning ? { timePartitioning: load.timePartitioning } : {}),
      ...(load.clustering ? { clustering: load.clustering } : {}),
    });
  } else if (writeDisposition === 'WRITE_TRUNCATE') {
    await fake.engine.dropTable(destination.datasetId, destination.tableId);
    table = await fake.engine.createTable(destination.datasetId, destination.tableId, {
      ...table.resource,
      schema: { fields },
    });
  } else {
    const allowAddition = (load.schemaUpdateOptions ?? []).includes('ALLOW_FIELD_ADDITION');
    await fake.engine.addFields(table, fields, allowAddition);
  }
  await fake.engine.insertRows(table, rows, false);
  return {
    inputFiles: String((load.sourceUris ?? []).length),
    inputFileBytes: String(inputBytes),
    outputRows: String(rows.length),
    outputBytes: String(inputBytes),
    badRecords: '0',
  };
}

/** jobs.getQueryResults (rows in the REST f/v shape, paged). */
export function queryResults(
  fake: FakeBigQueryState,
  jobId: string,
  query: Record<string, string>,
): FakeResponse {
  const job = fake.jobs.get(jobId);
  if (!job) return apiError(404, 'notFound', `Not found: Job ${fake.project}:${jobId}`);
  const status = job.resource.status as { errorResult?: { reason: string; message: string } };
  if (status.errorResult) return apiError(400, status.errorResult.reason, status.errorResult.message);
  const result = job.result ?? {
    schema: [],
    rows: [],
    affectedRows: 0,
    bytesProcessed: 0,
    statementType: 'SELECT',
  };
  const start = Number(query.startIndex ?? query.pageToken ?? 0);
  const size = Number(query.maxResults ?? 100_000);
  const rows = result.rows.slice(start, start + size);
  const next = start + size < result.rows.length ? String(start + size) : undefined;
  return json(200, {
    kind: 'bigquery#getQueryResultsResponse',
    jobReference: job.resource.jobReference,
    jobComplete: true,
    schema: { fields: result.schema },
    totalRows: String(result.rows.length),
    rows,
    ...(next ? { pageToken: next } : {}),
    numDmlAffectedRows: String(result.affectedRows),
  });
}

export interface LoadConfiguration {
  sourceUris?: string[];
  sourceFormat?: string;
  destinationTable?: { projectId?: string; datasetId?: string; tableId?: string };
  schema?: { fields?: FakeField[] };
  writeDisposition?: string;
  createDisposition?: string;
  schemaUpdateOptions?: string[];
  timePartitioning?: unknown;
  clustering?: unknown;
}
