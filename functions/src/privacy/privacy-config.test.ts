import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';

describe('privacy settings (loadConfig)', () => {
  it('defaults: the privacy bucket, the list object, the whole raw bucket, no settle wait on DuckDB', () => {
    expect(loadConfig({}).privacy).toEqual({
      bucket: 'sluice-privacy',
      suppressionObject: 'suppressions.json',
      rawPrefix: '',
      settleMs: 0,
    });
  });

  it('on BigQuery the settle wait defaults to the time budget; it can be set', () => {
    const bq = {
      SLUICE_DESTINATION: 'bigquery',
      SLUICE_GCP_PROJECT: 'p',
      SLUICE_BQ_TIME_BUDGET_SECONDS: '100',
    };
    expect(loadConfig(bq).privacy.settleMs).toBe(100_000);
    expect(loadConfig({ ...bq, SLUICE_PRIVACY_SETTLE_SECONDS: '7' }).privacy.settleMs).toBe(7000);
  });

  it('refuses the raw bucket as the privacy bucket and a bad settle wait, listing both', () => {
    expect(() =>
      loadConfig({ SLUICE_RAW_BUCKET: 'b', SLUICE_PRIVACY_BUCKET: 'b', SLUICE_PRIVACY_SETTLE_SECONDS: '-1' }),
    ).toThrow(/SLUICE_PRIVACY_SETTLE_SECONDS.*SLUICE_PRIVACY_BUCKET must not be the raw bucket/);
  });
});
