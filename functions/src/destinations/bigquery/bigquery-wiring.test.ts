import type { CloudEvent } from '@google-cloud/functions-framework';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeGcp, startFakeGcp } from '../../../test/fakes/fake-gcp-server.ts';
import { loadConfig } from '../../config.ts';
import { createLoadHandler } from '../../handler.ts';
import { createLogger } from '../../logger.ts';
import { createObjectStore } from '../../storage/create-object-store.ts';
import { createDestination } from '../create-destination.ts';

const LINES = [
  {
    type: 'track',
    event: 'Order Completed',
    messageId: 'm1',
    userId: 'u1',
    properties: { total: 12, currency: 'EUR' },
  },
  { type: 'track', event: 'Order Completed', messageId: 'm2', userId: 'u2', properties: { total: 12.5 } },
  { type: 'identify', messageId: 'm3', userId: 'u1', traits: { plan: 'pro', email: 'a@example.com' } },
  { type: 'page', messageId: 'm4', anonymousId: 'a1', name: 'Home', properties: { path: '/' } },
  { type: 'track', event: 'Order Completed', messageId: 'm1', userId: 'u1', properties: { total: 12 } },
].map((e) =>
  JSON.stringify({ ...e, receivedAt: '2026-01-01T00:00:01.000Z', timestamp: '2026-01-01T00:00:00.000Z' }),
);

describe('SLUICE_DESTINATION=bigquery: the loadEvents handler reads GCS and loads BigQuery (both the fake)', () => {
  let fake: FakeGcp;
  beforeAll(async () => {
    fake = await startFakeGcp({ project: 'wired' });
    // No credentials here: skip the GCE metadata probe so google-auth-library fails fast and the client
    // proceeds unauthenticated against the fake (the live suite uses real credentials).
    process.env.METADATA_SERVER_DETECTION = 'none';
  });
  afterAll(async () => {
    await fake.close();
  });

  it('loads a raw window file named by a finalized CloudEvent, and a redelivery is a no-op', async () => {
    const config = loadConfig({
      SLUICE_DESTINATION: 'bigquery',
      SLUICE_GCP_PROJECT: 'wired',
      SLUICE_BQ_DATASET: 'analytics',
      SLUICE_BQ_LOCATION: 'EU',
      SLUICE_BIGQUERY_ENDPOINT: fake.url,
      STORAGE_EMULATOR_HOST: fake.url,
      SLUICE_RAW_BUCKET: 'raw-bucket',
    });
    expect(config.bigquery).toMatchObject({
      stagingBucket: 'raw-bucket-staging',
      stagingPrefix: 'sluice-staging/',
    });
    const object = fake.gcs.put(
      'raw-bucket',
      'raw/2026-01-01/00_00_00+00:00_0123abcd.ndjson',
      `${LINES.join('\n')}\n`,
    );
    const handler = createLoadHandler({
      config,
      logger: createLogger('silent'),
      store: await createObjectStore(config),
      destination: () => createDestination(config),
    });
    const event = {
      id: 'evt-1',
      type: 'google.cloud.storage.object.v1.finalized',
      source: '//storage.googleapis.com/projects/_/buckets/raw-bucket',
      specversion: '1.0',
      data: {
        bucket: 'raw-bucket',
        name: object.name,
        generation: object.generation,
        size: String(object.data.length),
      },
    } as CloudEvent<unknown>;
    const outcome = await handler(event);
    expect(outcome?.status).toBe('loaded');
    expect(outcome?.record).toMatchObject({ linesRead: 5, eventsLoaded: 4, duplicates: 1, failed: 0 });

    // The exact generation was downloaded.
    const download = fake.requests.find((r) => r.query.alt === 'media' && r.path.includes('raw-bucket'));
    expect(download?.query.generation).toBe(object.generation);
    // Loads went through load jobs; no streaming inserts.
    expect(fake.requests.some((r) => r.path.includes('insertAll'))).toBe(false);
    const tables = fake.bigquery.engine
      .tables('analytics')
      .map((t) => t.tableId)
      .sort();
    expect(tables).toEqual(
      expect.arrayContaining(['tracks', 'order_completed', 'identifies', 'users', 'pages']),
    );
    const q = async (sql: string): Promise<unknown[][]> =>
      (await fake.bigquery.engine.query(sql, {})).rows.map((r) => r.f.map((c) => c.v));
    expect(await q('SELECT id FROM `wired.analytics.tracks` ORDER BY id')).toEqual([['m1'], ['m2']]);
    const total = fake.bigquery.engine
      .table('analytics', 'order_completed')!
      .fields.find((f) => f.name === 'total');
    expect(total?.type).toBe('FLOAT64');
    expect(await q('SELECT id, plan FROM `wired.analytics.users`')).toEqual([['u1', 'pro']]);
    // Staging cleaned up.
    // Only the durable bookkeeping objects stay: the claim lock row's source, the completion marker, the users
    // refresh state; every staged object of the load is gone.
    expect(fake.gcs.names('raw-bucket-staging').map((n) => n.replace(/[0-9a-f]{24}/, 'H'))).toEqual([
      'sluice-staging/claim-lock.ndjson',
      'sluice-staging/done/H.json',
      ...fake.gcs.names('raw-bucket-staging').filter((n) => n.endsWith('users-refresh.json')),
    ]);

    const again = await handler({ ...event, id: 'evt-1-retry' } as CloudEvent<unknown>);
    expect(again?.status).toBe('already_loaded');
    expect(await q('SELECT count(*) FROM `wired.analytics.tracks`')).toEqual([['2']]);
  });
});
