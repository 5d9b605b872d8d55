import { afterEach, describe, it } from 'vitest';
import { type PrivacyPipeline, privacyPipeline } from '../../test/helpers/privacy-pipeline.ts';
import { deleteScenario } from '../../test/helpers/privacy-scenario.ts';

// npm test (every BigQuery statement is a job on the fake, ~6-25 s). DuckDB: privacy-e2e.test.ts.
describe('privacy on BigQuery + Cloud Storage (the strict fakes, over HTTP)', () => {
  let p: PrivacyPipeline | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  it('erases one person everywhere (tables, child tables, users, failed events, raw files), keeps everyone else, records it; replay does not bring them back; suppress and unsuppress', {
    timeout: 120_000,
  }, async () => {
    p = await privacyPipeline('bigquery');
    await deleteScenario(p);
  });
});
