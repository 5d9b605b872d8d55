import { BigQuery } from '@google-cloud/bigquery';
import { Storage } from '@google-cloud/storage';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeAuthClient } from './fake-credentials.ts';
import { type FakeGcp, startFakeGcp } from './fake-gcp-server.ts';

/** The fake is only useful if the real client libraries accept its answers: these tests drive it through them. */
describe('fake GCP (BigQuery v2 + Cloud Storage JSON API) through the real client libraries', () => {
  let fake: FakeGcp;
  let bq: BigQuery;
  let storage: Storage;

  beforeEach(async () => {
    fake = await startFakeGcp({ project: 'p1' });
    bq = new BigQuery({
      projectId: 'p1',
      apiEndpoint: fake.url,
      authClient: fakeAuthClient(),
      location: 'EU',
      retryOptions: { autoRetry: false },
    });
    storage = new Storage({ projectId: 'p1', apiEndpoint: fake.url, retryOptions: { autoRetry: false } });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('custom metadata: set by the upload with its precondition, per generation, returned by objects.get (any generation); 8 KiB at most', async () => {
    const file = storage.bucket('b').file('raw/m.ndjson');
    await file.save('a\n', { resumable: false, metadata: { metadata: { 'sluice-rewrite-of': '1' } } });
    const [first] = await file.getMetadata();
    expect(first.metadata).toEqual({ 'sluice-rewrite-of': '1' });
    // A new generation starts with what its own upload sets; the old generation keeps its own.
    await file.save('b\n', {
      resumable: false,
      preconditionOpts: { ifGenerationMatch: Number(first.generation) },
    });
    const [second] = await file.getMetadata();
    expect(second.metadata).toBeUndefined();
    const [old] = await storage
      .bucket('b')
      .file('raw/m.ndjson', { generation: Number(first.generation) })
      .getMetadata();
    expect(old.metadata).toEqual({ 'sluice-rewrite-of': '1' });
    // The precondition fails (412) against a generation that is no longer live, and nothing is written.
    await expect(
      file.save('c\n', {
        resumable: false,
        metadata: { metadata: { k: 'v' } },
        preconditionOpts: { ifGenerationMatch: Number(first.generation) },
      }),
    ).rejects.toMatchObject({ code: 412 });
    await expect(
      file.save('d\n', { resumable: false, metadata: { metadata: { k: 'x'.repeat(8 * 1024) } } }),
    ).rejects.toMatchObject({ code: 400 });
    expect(fake.gcs.get('b', 'raw/m.ndjson')?.generation).toBe(String(second.generation));
  });

  it('stores uploads and serves the exact generation, lists by prefix with pagination, deletes', async () => {
    const file = storage.bucket('b').file('raw/2024-01-01/00_00_00+00:00_x.ndjson');
    await file.save('{"a":1}\n', { resumable: false });
    await file.save('{"a":2}\n', { resumable: false });
    const [first] = fake.gcs.names('b').map((n) => fake.gcs.get('b', n)!);
    const older = String(Number(first!.generation) - 1);
    const read = async (generation: string): Promise<string> => {
      let out = '';
      for await (const chunk of storage.bucket('b').file(first!.name, { generation }).createReadStream())
        out += chunk;
      return out;
    };
    expect(await read(older)).toBe('{"a":1}\n');
    expect(await read(first!.generation)).toBe('{"a":2}\n');
    await expect(read('1')).rejects.toMatchObject({ code: 404 });

    fake.gcs.listPageSize = 2;
    for (const n of ['raw/a', 'raw/b', 'raw/c', 'other/d']) fake.gcs.put('b', n, 'x');
    const [files] = await storage.bucket('b').getFiles({ prefix: 'raw/a', autoPaginate: true });
    expect(files.map((f) => f.name)).toEqual(['raw/a']);
    const [all] = await storage.bucket('b').getFiles({ prefix: 'raw/', autoPaginate: true });
    expect(all.map((f) => f.name)).toEqual([
      'raw/2024-01-01/00_00_00+00:00_x.ndjson',
      'raw/a',
      'raw/b',
      'raw/c',
    ]);
    await storage.bucket('b').file('raw/a').delete();
    expect(fake.gcs.names('b', 'raw/a')).toEqual([]);
  });

  it('creates datasets and tables, answers 409 duplicate for an existing job id, runs loads and SQL', async () => {
    await expect(bq.dataset('ds').get()).rejects.toMatchObject({ code: 404 });
    await bq.createDataset('ds', { location: 'EU' });
    await expect(bq.createDataset('ds', { location: 'EU' })).rejects.toMatchObject({ code: 409 });
    fake.gcs.put('stage', 'x.ndjson', '{"id":"a","n":1,"ts":"2024-01-01T00:00:00Z"}\n{"id":"b","n":2}\n');
    const configuration = {
      load: {
        sourceUris: ['gs://stage/x.ndjson'],
        sourceFormat: 'NEWLINE_DELIMITED_JSON',
        destinationTable: { projectId: 'p1', datasetId: 'ds', tableId: 't' },
        schema: {
          fields: [
            { name: 'id', type: 'STRING' },
            { name: 'n', type: 'INT64' },
            { name: 'ts', type: 'TIMESTAMP' },
          ],
        },
        writeDisposition: 'WRITE_APPEND',
      },
    };
    const [job] = await bq.createJob({ jobId: 'load_1', location: 'EU', configuration });
    const [done] = await job.getMetadata();
    expect(done.statistics.load.outputRows).toBe('2');
    await expect(bq.createJob({ jobId: 'load_1', location: 'EU', configuration })).rejects.toMatchObject({
      code: 409,
    });

    const [q] = await bq.createJob({
      jobId: 'q_1',
      location: 'EU',
      configuration: {
        query: {
          query: 'SELECT id, n, ts FROM `p1.ds.t` WHERE id = @id',
          useLegacySql: false,
          parameterMode: 'NAMED',
          queryParameters: [
            { name: 'id', parameterType: { type: 'STRING' }, parameterValue: { value: 'a' } },
          ],
        },
      },
    });
    const [rows] = await q.getQueryResults();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: 'a', n: 1 });
    expect((rows[0] as { ts: { value: string } }).ts.value).toBe('2024-01-01T00:00:00.000Z');
    expect(fake.jobInserts().map((j) => [j.jobId, j.status])).toEqual([
      ['load_1', 200],
      ['load_1', 409],
      ['q_1', 200],
    ]);
  });

  it('fails a load job (errorResult invalid) on a value that does not fit the schema', async () => {
    await bq.createDataset('ds');
    fake.gcs.put('stage', 'bad.ndjson', '{"n":"twelve"}\n');
    const [created] = await bq.createJob({
      jobId: 'bad',
      configuration: {
        load: {
          sourceUris: ['gs://stage/bad.ndjson'],
          sourceFormat: 'NEWLINE_DELIMITED_JSON',
          destinationTable: { projectId: 'p1', datasetId: 'ds', tableId: 't' },
          schema: { fields: [{ name: 'n', type: 'INT64' }] },
        },
      },
    });
    expect(created.metadata.status.state).toBe('RUNNING');
    const [metadata] = await created.getMetadata();
    expect(metadata.status.errorResult.reason).toBe('invalid');
  });

  it('injects faults: a 503 then success, and a dropped connection', async () => {
    fake.faults.status(503, 'backendError', { path: /\/datasets$/ });
    await expect(bq.createDataset('ds')).rejects.toMatchObject({ code: 503 });
    await bq.createDataset('ds');
    fake.faults.add({ path: /\/datasets\/ds$/, action: { kind: 'drop' } });
    await expect(bq.dataset('ds').get()).rejects.toThrow();
    expect(fake.faults.hits()).toEqual([1, 1]);
  });
});
