import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeGcp, startFakeGcp } from '../../test/fakes/fake-gcp-server.ts';
import { gcsObjectStore, parseGsUri } from './gcs.ts';

async function text(stream: AsyncIterable<Buffer | string>): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += chunk;
  return out;
}

describe('gcsObjectStore over the fake Cloud Storage JSON API', () => {
  let fake: FakeGcp;
  let store: ReturnType<typeof gcsObjectStore>;
  beforeAll(async () => {
    fake = await startFakeGcp();
    store = gcsObjectStore(
      new Storage({ projectId: fake.project, apiEndpoint: fake.url, retryOptions: { autoRetry: false } }),
    );
  });
  afterAll(async () => {
    await fake.close();
  });

  it('streams exactly the generation named in the CloudEvent', async () => {
    const first = fake.gcs.put('raw', 'raw/2024-05-01/10_00_00+00:00_aaaaaaaa.ndjson', '{"v":1}\n');
    const second = fake.gcs.put('raw', first.name, '{"v":2}\n');
    expect(await text(await store.read('raw', first.name, first.generation))).toBe('{"v":1}\n');
    expect(await text(await store.read('raw', first.name, second.generation))).toBe('{"v":2}\n');
    expect(await text(await store.read('raw', first.name))).toBe('{"v":2}\n');
    const media = fake.requests.filter((r) => r.query.alt === 'media').map((r) => r.query.generation);
    expect(media).toEqual([first.generation, second.generation, undefined]);
  });

  it('a replaced generation is GENERATION_GONE (not retryable); a missing object is NOT_FOUND', async () => {
    fake.gcs.put('raw', 'gone.ndjson', 'x\n');
    await expect(store.read('raw', 'gone.ndjson', '42')).rejects.toMatchObject({
      code: 'SLUICE_ERR_LOAD_OBJECT_GENERATION_GONE',
      retryable: false,
    });
    await expect(store.read('raw', 'nope.ndjson')).rejects.toMatchObject({
      code: 'SLUICE_ERR_LOAD_OBJECT_NOT_FOUND',
    });
  });

  it('a 503 on download is a retryable read error', async () => {
    const o = fake.gcs.put('raw', 'flaky.ndjson', 'x\n');
    fake.faults.status(503, 'backendError', { path: /flaky/ });
    await expect(store.read('raw', o.name, o.generation)).rejects.toMatchObject({
      code: 'SLUICE_ERR_LOAD_OBJECT_READ',
      retryable: true,
    });
    expect(fake.faults.hits()).toEqual([1]);
  });

  it('lists every object under a prefix across pages, in name order, with generation and size', async () => {
    fake.gcs.listPageSize = 2;
    for (const d of ['03', '01', '02'])
      fake.gcs.put('list', `raw/2024-06-${d}/00_00_00+00:00_bbbbbbbb.ndjson`, `${d}\n`);
    fake.gcs.put('list', 'other/x', 'y');
    const seen = [];
    for await (const info of store.list('list', 'raw/2024-06-')) seen.push(info);
    expect(seen.map((i) => i.name)).toEqual([
      'raw/2024-06-01/00_00_00+00:00_bbbbbbbb.ndjson',
      'raw/2024-06-02/00_00_00+00:00_bbbbbbbb.ndjson',
      'raw/2024-06-03/00_00_00+00:00_bbbbbbbb.ndjson',
    ]);
    expect(seen[0]).toMatchObject({
      bucket: 'list',
      size: 3,
      generation: fake.gcs.get('list', seen[0]!.name)!.generation,
    });
    expect(await store.stat('list', 'other/x')).toMatchObject({ size: 1 });
    expect(await store.stat('list', 'missing')).toBeUndefined();
    fake.gcs.listPageSize = 1000;
  });

  it('parses gs:// URIs', () => {
    expect(parseGsUri('gs://b/raw/x.ndjson')).toEqual({ bucket: 'b', name: 'raw/x.ndjson' });
    expect(parseGsUri('gs://b')).toEqual({ bucket: 'b', name: '' });
    expect(parseGsUri('/tmp/x')).toBeUndefined();
  });
});
