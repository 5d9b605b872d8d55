import { afterEach, describe, it } from 'vitest';
import { type PrivacyPipeline, privacyPipeline } from '../../test/helpers/privacy-pipeline.ts';
import { deleteScenario } from '../../test/helpers/privacy-scenario.ts';

// The same scenario on BigQuery (+ Cloud Storage, the strict fakes over HTTP): privacy-e2e-bigquery.test.ts.
describe('privacy on DuckDB + the buckets directory', () => {
  let p: PrivacyPipeline | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  it('erases one person everywhere (tables, child tables, users, failed events, raw files), keeps everyone else, records it; replay does not bring them back; suppress and unsuppress', async () => {
    p = await privacyPipeline('duckdb');
    await deleteScenario(p);
  });
});
