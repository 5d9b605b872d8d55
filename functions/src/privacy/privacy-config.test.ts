import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';

describe('privacy settings (loadConfig)', () => {
  it('defaults: the privacy bucket, the list object, the whole raw bucket, no settle wait on DuckDB', () => {
    expect(loadConfig({}).privacy).toEqual({
      bucket: 'sluice-privacy',
      suppressionObject: 'suppressions.json',
      rawPrefix: '',
      settleMs: 0,
      suppressionRefreshMs: 0,
    });
  });

  it('on BigQuery the settle wait defaults to the time budget plus the loader cache bound (60 s); both can be set', () => {
    const bq = {
      SLUICE_DESTINATION: 'bigquery',
      SLUICE_GCP_PROJECT: 'p',
      SLUICE_BQ_TIME_BUDGET_SECONDS: '100',
    };
    expect(loadConfig(bq).privacy).toMatchObject({ settleMs: 160_000, suppressionRefreshMs: 60_000 });
    expect(loadConfig({ ...bq, SLUICE_SUPPRESSION_REFRESH_SECONDS: '0' }).privacy.settleMs).toBe(100_000);
    expect(loadConfig({ ...bq, SLUICE_PRIVACY_SETTLE_SECONDS: '7' }).privacy.settleMs).toBe(7000);
  });

  it('refuses the raw bucket as the privacy bucket, a bad settle wait and a cache bound above 60 s, listing all', () => {
    expect(() =>
      loadConfig({
        SLUICE_RAW_BUCKET: 'b',
        SLUICE_PRIVACY_BUCKET: 'b',
        SLUICE_PRIVACY_SETTLE_SECONDS: '-1',
        SLUICE_SUPPRESSION_REFRESH_SECONDS: '61',
      }),
    ).toThrow(
      /SLUICE_SUPPRESSION_REFRESH_SECONDS.*SLUICE_PRIVACY_SETTLE_SECONDS.*SLUICE_PRIVACY_BUCKET must not be the raw bucket/,
    );
  });
});
