import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.ts';

describe('BigQuery settings in loadConfig', () => {
  it('defaults, and GOOGLE_CLOUD_PROJECT as the project fallback', () => {
    const config = loadConfig({
      SLUICE_DESTINATION: 'bigquery',
      GOOGLE_CLOUD_PROJECT: 'g',
      SLUICE_RAW_BUCKET: 'r',
    });
    expect(config.bigquery).toEqual({
      projectId: 'g',
      datasetId: 'sluice',
      location: 'US',
      bigqueryEndpoint: undefined,
      storageEndpoint: undefined,
      stagingBucket: 'r-staging',
      stagingPrefix: 'sluice-staging/',
      timeBudgetMs: 480_000,
      usersRefreshIntervalMs: 3_600_000,
      maxPartitionsPerFile: 2000,
    });
  });

  it('fails fast listing every problem when the destination is bigquery', () => {
    expect(() =>
      loadConfig({
        SLUICE_DESTINATION: 'bigquery',
        SLUICE_BQ_DATASET: 'bad-name',
        SLUICE_RAW_BUCKET: 'same',
        SLUICE_STAGING_BUCKET: 'same',
        SLUICE_BQ_TIME_BUDGET_SECONDS: '0',
      }),
    ).toThrow(
      /SLUICE_GCP_PROJECT.*required.*SLUICE_BQ_DATASET must be.*SLUICE_STAGING_BUCKET must differ.*SLUICE_BQ_TIME_BUDGET_SECONDS/,
    );
  });

  it('does not require GCP settings for duckdb; endpoint overrides accept host:port', () => {
    const config = loadConfig({
      SLUICE_BIGQUERY_ENDPOINT: '127.0.0.1:9050/',
      STORAGE_EMULATOR_HOST: 'http://h:1',
    });
    expect(config.destination).toBe('duckdb');
    expect(config.bigquery.bigqueryEndpoint).toBe('http://127.0.0.1:9050');
    expect(config.bigquery.storageEndpoint).toBe('http://h:1');
  });
});
