import { randomUUID } from 'node:crypto';
import type { CloudEvent } from '@google-cloud/functions-framework';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createGcpClients } from '../../src/destinations/bigquery/gcp-clients.ts';
import { createDestination } from '../../src/destinations/create-destination.ts';
import { createLoadHandler } from '../../src/handler.ts';
import { createLogger } from '../../src/logger.ts';
import { createObjectStore } from '../../src/storage/create-object-store.ts';

/**
 * Live suite: the real BigQuery and Cloud Storage. Runs only when a project, a scratch bucket and credentials are
 * configured:
 *   SLUICE_LIVE_GCP_PROJECT=<project> SLUICE_LIVE_BUCKET=<scratch bucket in that project>
 *   GOOGLE_APPLICATION_CREDENTIALS=<key file>  (or SLUICE_LIVE_USE_ADC=1 after `gcloud auth application-default login`)
 *   optional SLUICE_LIVE_BQ_LOCATION (default US; must match the bucket's location for load jobs)
 * It creates a throw-away dataset `sluice_live_<random>` and deletes it (with contents) afterwards.
 * What it proves that the fake cannot: the SQL is valid GoogleSQL (the claim MERGE over an ARRAY<STRUCT>
 * parameter, the users refresh MERGE with FIRST_VALUE IGNORE NULLS), BigQuery accepts the load-job configurations
 * and schemas (ALLOW_FIELD_ADDITION on the loads table and the users log), the 409 and job-state semantics,
 * partitioning/clustering metadata, and the real bytes BILLED per file: it prints them, and checks that the loads
 * row's `bytes_billed` is the sum of its jobs' `totalBytesBilled` (from jobs.get).
 */
const env = process.env;
const project = env.SLUICE_LIVE_GCP_PROJECT;
const bucket = env.SLUICE_LIVE_BUCKET;
const credentials = Boolean(env.GOOGLE_APPLICATION_CREDENTIALS) || env.SLUICE_LIVE_USE_ADC === '1';
const live = Boolean(project && bucket && credentials);
const why = !project
  ? 'SLUICE_LIVE_GCP_PROJECT is not set'
  : !bucket
    ? 'SLUICE_LIVE_BUCKET is not set'
    : 'no credentials (GOOGLE_APPLICATION_CREDENTIALS or SLUICE_LIVE_USE_ADC=1)';

const line = (id: string, extra: Record<string, unknown>): string =>
  JSON.stringify({
    messageId: id,
    receivedAt: new Date().toISOString(),
    timestamp: new Date().toISOString(),
    ...extra,
  });

if (!live) console.warn(`[live] BigQuery + Cloud Storage live suite SKIPPED: ${why}`);

describe.skipIf(!live)(
  live ? 'BigQuery + Cloud Storage LIVE' : `BigQuery + Cloud Storage LIVE — SKIPPED: ${why}`,
  () => {
    const dataset = `sluice_live_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const prefix = `sluice-live-${dataset}/`;
    const settings = (): ReturnType<typeof loadConfig> =>
      loadConfig({
        SLUICE_DESTINATION: 'bigquery',
        SLUICE_GCP_PROJECT: project,
        SLUICE_BQ_DATASET: dataset,
        SLUICE_BQ_LOCATION: env.SLUICE_LIVE_BQ_LOCATION || 'US',
        SLUICE_RAW_BUCKET: `${bucket}-not-used-as-raw`,
        SLUICE_STAGING_BUCKET: bucket,
        SLUICE_STAGING_PREFIX: `${prefix}staging/`,
        SLUICE_BQ_TIME_BUDGET_SECONDS: '300',
        SLUICE_BQ_USERS_REFRESH_MINUTES: '0',
      });
    let config: ReturnType<typeof loadConfig>;
    let clients: Awaited<ReturnType<typeof createGcpClients>> | undefined;

    beforeAll(async () => {
      config = settings();
      clients = await createGcpClients(config.bigquery);
    });
    afterAll(async () => {
      if (!clients) return;
      await clients.bigquery
        .dataset(dataset)
        .delete({ force: true })
        .catch(() => undefined);
      const [files] = await clients.storage.bucket(bucket!).getFiles({ prefix });
      await Promise.all(files.map((f) => f.delete({ ignoreNotFound: true })));
    });

    let lastEvent: CloudEvent<unknown> | undefined;

    async function run(event: CloudEvent<unknown>): Promise<unknown> {
      const handler = createLoadHandler({
        config,
        logger: createLogger('warn'),
        store: await createObjectStore(config),
        destination: () => createDestination(config),
      });
      return handler(event);
    }

    async function deliver(name: string, lines: string[]): Promise<unknown> {
      if (!clients) throw new Error('clients not created');
      const file = clients.storage.bucket(bucket!).file(`${prefix}raw/${name}`);
      await file.save(`${lines.join('\n')}\n`, { resumable: false });
      const [metadata] = await file.getMetadata();
      lastEvent = {
        id: randomUUID(),
        type: 'google.cloud.storage.object.v1.finalized',
        source: `//storage.googleapis.com/projects/_/buckets/${bucket}`,
        specversion: '1.0',
        data: {
          bucket,
          name: file.name,
          generation: String(metadata.generation),
          size: String(metadata.size),
        },
      } as CloudEvent<unknown>;
      return run(lastEvent);
    }

    const query = async (sql: string): Promise<Record<string, unknown>[]> => {
      if (!clients) throw new Error('clients not created');
      const [rows] = await clients.bigquery.query({ query: sql, location: config.bigquery.location });
      return rows as Record<string, unknown>[];
    };

    it('loads, de-duplicates across files, upserts users, evolves schema, and a redelivery is a no-op', async () => {
      const first = await deliver('a.ndjson', [
        line('l1', {
          type: 'track',
          event: 'Order Completed',
          userId: 'u1',
          properties: { total: 10, tags: { a: 1 } },
        }),
        line('l2', { type: 'identify', userId: 'u1', traits: { plan: 'free' } }),
        line('l1', { type: 'track', event: 'Order Completed', userId: 'u1', properties: { total: 10 } }),
        'not json',
      ]);
      expect(first).toMatchObject({
        status: 'loaded',
        record: { linesRead: 4, eventsLoaded: 2, duplicates: 1, failed: 1 },
      });
      const second = await deliver('b.ndjson', [
        line('l1', { type: 'track', event: 'Order Completed', userId: 'u1', properties: { total: 10 } }),
        line('l3', {
          type: 'track',
          event: 'Order Completed',
          userId: 'u2',
          properties: { total: 12.5, coupon: 'X' },
        }),
        line('l4', { type: 'identify', userId: 'u1', traits: { plan: 'pro' } }),
      ]);
      expect(second).toMatchObject({ status: 'loaded', record: { eventsLoaded: 2, duplicates: 1 } });
      const ids = await query(`SELECT id FROM \`${project}.${dataset}.order_completed\` ORDER BY id`);
      expect(ids.map((r) => r.id)).toEqual(['l1', 'l3']);
      const users = await query(`SELECT id, plan FROM \`${project}.${dataset}.users\``);
      expect(users).toEqual([{ id: 'u1', plan: 'pro' }]);
      if (!clients) throw new Error('clients not created');
      const [table] = await clients.bigquery.dataset(dataset).table('tracks').getMetadata();
      expect(table.timePartitioning).toMatchObject({ type: 'DAY', field: 'timestamp' });
      const loads = await query(
        `SELECT name, bytes_billed, bytes_processed, TO_JSON_STRING(job_ids) AS job_ids FROM \`${project}.${dataset}._sluice_loads\` ORDER BY name`,
      );
      expect(loads).toHaveLength(2);
      for (const r of loads) {
        const jobIds = JSON.parse(String(r.job_ids)) as string[];
        let billed = 0;
        for (const id of jobIds) {
          const [job] = await clients.bigquery.job(id, { location: config.bigquery.location }).getMetadata();
          billed += Number(
            (job as { statistics?: { query?: { totalBytesBilled?: string } } }).statistics?.query
              ?.totalBytesBilled ?? 0,
          );
        }
        console.info(
          `[live] ${String(r.name)}: bytes_billed ${Number(r.bytes_billed)} (${(Number(r.bytes_billed) / 2 ** 20).toFixed(0)} MB), processed ${Number(r.bytes_processed)}, ${jobIds.length} jobs`,
        );
        expect(Number(r.bytes_billed)).toBe(billed);
        expect(Number(r.bytes_billed)).toBeGreaterThanOrEqual(10 * 2 ** 20); // findLoad alone bills 10 MB
      }

      // Redelivery of the same CloudEvent (same generation): a no-op that answers with the committed load.
      if (!lastEvent) throw new Error('no event delivered');
      expect(await run(lastEvent)).toMatchObject({
        status: 'already_loaded',
        record: { eventsLoaded: 2, duplicates: 1 },
      });
      expect(await query(`SELECT id FROM \`${project}.${dataset}.order_completed\` ORDER BY id`)).toEqual(
        ids,
      );

      const again = await deliver('b.ndjson', []);
      expect(again).toMatchObject({ status: 'loaded' }); // a new generation of b.ndjson (empty) is a new file
      const [staging] = await clients.storage.bucket(bucket!).getFiles({ prefix: `${prefix}staging/` });
      // Only the durable bookkeeping objects stay (claim lock source, completion markers, users refresh state).
      expect(
        staging.map((f) => f.name).filter((n) => !/claim-lock|\/done\/|(users|accounts)-refresh/.test(n)),
      ).toEqual([]);
    }, 600_000);
  },
);
