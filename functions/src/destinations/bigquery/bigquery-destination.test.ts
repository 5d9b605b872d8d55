import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeBigQueryDestination } from '../../../test/fakes/fake-bigquery-destination.ts';
import { type FakeGcp, startFakeGcp } from '../../../test/fakes/fake-gcp-server.ts';
import {
  cellsOf,
  type Destination,
  type LoadMeta,
  type LoadSummary,
  type SchemaChange,
  type StagedRow,
} from '../destination.ts';

const HOUR = 3600 * 1000;

function meta(name: string, generation = '1', loadId = `load-${name}-${generation}`): LoadMeta {
  return {
    loadId,
    loadKey: `raw/${name}#${generation}`,
    bucket: 'raw',
    name,
    generation,
    startedAt: new Date('2024-05-01T10:00:00Z'),
    dedupWindowMs: 72 * HOUR,
  };
}

const TRACKS: SchemaChange = {
  kind: 'create_table',
  table: 'tracks',
  columns: [
    { name: 'id', type: 'STRING' },
    { name: 'event', type: 'STRING' },
    { name: 'user_id', type: 'STRING' },
    { name: 'timestamp', type: 'TIMESTAMP' },
    { name: 'received_at', type: 'TIMESTAMP' },
    { name: 'loaded_at', type: 'TIMESTAMP' },
    { name: '_sluice_load_id', type: 'STRING' },
  ],
};

function track(id: string, line: number, extra: Record<string, string | number | null> = {}): StagedRow {
  return {
    eventId: id,
    line,
    receivedAt: '2024-05-01T09:59:00.000Z',
    ...cellsOf({
      id,
      event: 'Order Completed',
      user_id: 'u1',
      timestamp: '2024-05-01T09:58:00.000Z',
      received_at: '2024-05-01T09:59:00.000Z',
      loaded_at: '2024-05-01T10:00:00.000Z',
      _sluice_load_id: 'L',
      ...extra,
    }),
  };
}

function summary(lines: number, staged: number, changes: SchemaChange[] = [], failed = 0): LoadSummary {
  return {
    linesRead: lines,
    bytesRead: lines * 100,
    eventsStaged: staged,
    failed,
    valuesDiscarded: 0,
    schemaChanges: changes,
    finishedAt: new Date('2024-05-01T10:00:05Z'),
  };
}

async function loadFile(
  dest: Destination,
  m: LoadMeta,
  rows: StagedRow[],
  changes: SchemaChange[] = [],
): Promise<ReturnType<NonNullable<Awaited<ReturnType<Destination['beginLoad']>>>['commit']>> {
  await dest.open();
  const found = await dest.findLoad(m.loadKey);
  if (found) return found;
  const schema = await dest.readSchema();
  const session = await dest.beginLoad(m);
  const needed = changes.filter((c) => c.kind !== 'create_table' || !schema.has(c.table));
  await session.applySchemaChanges(needed);
  await session.appendRows('tracks', rows);
  return session.commit(summary(rows.length, new Set(rows.map((r) => r.line)).size, needed));
}

async function rows(fake: FakeGcp, sql: string): Promise<Record<string, unknown>[]> {
  const outcome = await fake.bigquery.engine.query(sql, {});
  const names = outcome.schema.map((f) => f.name);
  return outcome.rows.map((r) => Object.fromEntries(r.f.map((c, i) => [names[i], c.v])));
}

describe('BigQuery destination over the HTTP fake', () => {
  let fake: FakeGcp;
  beforeEach(async () => {
    fake = await startFakeGcp({ project: 'proj' });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('creates the dataset in its location and the bookkeeping tables with partitioning and clustering', async () => {
    const dest = fakeBigQueryDestination(fake);
    await dest.open();
    const datasetInsert = fake.requests.find((r) => r.method === 'POST' && r.path.endsWith('/datasets'));
    expect(datasetInsert?.body).toEqual({ location: 'EU', datasetReference: { datasetId: 'sluice' } });
    const ids = fake.bigquery.engine.table('sluice', '_sluice_event_ids')!.resource;
    expect(ids.timePartitioning).toEqual({ type: 'DAY', field: 'received_at' });
    expect(ids.clustering).toEqual({ fields: ['id'] });
    const loads = fake.bigquery.engine.table('sluice', '_sluice_loads')!;
    expect(loads.fields.map((f) => f.name)).toEqual(
      expect.arrayContaining(['bytes_billed', 'bytes_processed', 'job_ids']),
    );
    expect(loads.resource.timePartitioning).toEqual({ type: 'DAY', field: 'loaded_at' });
  });

  it('one claim MERGE, load jobs per table, the loads row last: exact job configurations, 20 MB billed', async () => {
    const dest = fakeBigQueryDestination(fake);
    const record = await loadFile(
      dest,
      meta('a.ndjson'),
      [track('e1', 1), track('e2', 2), track('e1', 3)],
      [TRACKS],
    );
    expect(record).toMatchObject({ eventsLoaded: 2, duplicates: 1, failed: 0, linesRead: 3, rowsWritten: 2 });

    const tracks = fake.bigquery.engine.table('sluice', 'tracks')!.resource;
    expect(tracks.timePartitioning).toEqual({ type: 'DAY', field: 'timestamp' });
    expect(tracks.clustering).toEqual({ fields: ['event', 'user_id'] });

    const inserts = fake.jobInserts();
    const queries = inserts.filter((j) => 'query' in j.configuration && !j.jobId.startsWith('sluice_ddl_'));
    expect(queries.map((j) => j.jobId.replace(/[0-9a-f]{16,}/g, 'H'))).toEqual([
      'sluice_find_H_H_0',
      'sluice_claim_H_H_0',
    ]);
    const claim = queries[1]!.configuration.query as { query: string; queryParameters: { name: string }[] };
    expect(claim.query).toMatch(/^MERGE INTO `proj\.sluice\._sluice_event_ids` AS T/);
    expect(claim.query).toContain('WHEN MATCHED AND S.is_lock THEN UPDATE SET load_id = @load_id');
    expect(claim.queryParameters.map((p) => p.name)).toEqual([
      'load_id',
      'window_start',
      'lock_id',
      'lock_at',
      'ids',
    ]);
    const append = inserts.find((j) => /^sluice_append_[0-9a-f]{24}_tracks_[0-9a-f]{16}_0$/.test(j.jobId))!;
    expect(append.configuration.load).toEqual({
      sourceUris: [
        expect.stringMatching(
          /^gs:\/\/sluice-staging\/staging\/[0-9a-f]{24}\/final\/tracks\/0\/000000\.ndjson$/,
        ),
      ],
      sourceFormat: 'NEWLINE_DELIMITED_JSON',
      destinationTable: { projectId: 'proj', datasetId: 'sluice', tableId: 'tracks' },
      schema: {
        fields: expect.arrayContaining([{ name: 'timestamp', type: 'TIMESTAMP', mode: 'NULLABLE' }]),
      },
      createDisposition: 'CREATE_NEVER',
      writeDisposition: 'WRITE_APPEND',
      schemaUpdateOptions: ['ALLOW_FIELD_ADDITION'],
      ignoreUnknownValues: false,
      maxBadRecords: 0,
    });
    const last = inserts.at(-1)!;
    expect(
      (last.configuration.load as { destinationTable: { tableId: string } }).destinationTable.tableId,
    ).toBe('_sluice_loads');
    expect(fake.requests.some((r) => r.path.includes('insertAll'))).toBe(false);

    const stored = await rows(fake, 'SELECT id, _sluice_load_id FROM `proj.sluice.tracks` ORDER BY id');
    expect(stored).toEqual([
      { id: 'e1', _sluice_load_id: 'load-a.ndjson-1' },
      { id: 'e2', _sluice_load_id: 'load-a.ndjson-1' },
    ]);
    // the load's staging objects are gone; its completion marker stays
    expect(fake.gcs.names('sluice-staging').filter((n) => !n.startsWith('staging/done/'))).toEqual([
      'staging/claim-lock.ndjson',
    ]);
    const [loadsRow] = await rows(fake, 'SELECT bytes_billed, job_ids FROM `proj.sluice._sluice_loads`');
    expect(Number(loadsRow!.bytes_billed)).toBe(20 * 1024 * 1024); // findLoad 10 MB + claim 10 MB
    expect(JSON.parse(String(loadsRow!.job_ids))).toEqual(
      expect.arrayContaining([queries[1]!.jobId, append.jobId]),
    );
  });

  it('a redelivered file is a no-op, the same event in a second file is a duplicate', async () => {
    const dest = fakeBigQueryDestination(fake);
    await loadFile(dest, meta('a.ndjson'), [track('e1', 1)], [TRACKS]);
    const again = await loadFile(dest, meta('a.ndjson'), [track('e1', 1)], [TRACKS]);
    expect(again.eventsLoaded).toBe(1);
    const second = await loadFile(dest, meta('b.ndjson'), [track('e1', 1), track('e3', 2)], [TRACKS]);
    expect(second).toMatchObject({ eventsLoaded: 1, duplicates: 1 });
    expect(await rows(fake, 'SELECT id FROM `proj.sluice.tracks` ORDER BY id')).toEqual([
      { id: 'e1' },
      { id: 'e3' },
    ]);
  });

  it('ids above claimParamMaxBytes are claimed from a staging table (free load job, +10 MB), with the same result', async () => {
    const dest = fakeBigQueryDestination(fake, { claimParamMaxBytes: 1 });
    await loadFile(dest, meta('a.ndjson'), [track('e1', 1)], [TRACKS]);
    const record = await loadFile(dest, meta('b.ndjson'), [track('e1', 1), track('e2', 2)], [TRACKS]);
    expect(record).toMatchObject({ eventsLoaded: 1, duplicates: 1 });
    const claims = fake.jobInserts().filter((j) => j.jobId.startsWith('sluice_claim_'));
    expect((claims[1]!.configuration.query as { query: string }).query).toMatch(
      /FROM `proj\.sluice\._sluice_stage_[0-9a-f]{24}_ids`/,
    );
    expect(await rows(fake, 'SELECT id FROM `proj.sluice.tracks` ORDER BY id')).toEqual([
      { id: 'e1' },
      { id: 'e2' },
    ]);
    const billed = await rows(
      fake,
      "SELECT bytes_billed FROM `proj.sluice._sluice_loads` WHERE name = 'b.ndjson'",
    );
    // findLoad 10 MB + claim over the staging table and the index 20 MB + the read-back of its claims 10 MB
    expect(Number(billed[0]!.bytes_billed)).toBe(40 * 1024 * 1024);
    expect(
      fake.bigquery.engine
        .tables('sluice')
        .map((t) => t.tableId)
        .filter((t) => t.startsWith('_sluice_stage_')),
    ).toEqual([]);
  });
});
