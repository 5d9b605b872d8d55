import { describe, expect, it } from 'vitest';
import { ConfigError } from './config.ts';
import { testConfig } from './test-support.ts';

describe('suppression settings (loadConfig)', () => {
  it('defaults: the local privacy bucket, refreshed every 60 s', () => {
    expect(testConfig().suppression).toEqual({
      source: 'local',
      bucket: 'sluice-privacy',
      object: 'suppressions.json',
      refreshMs: 60_000,
      storageEndpoint: undefined,
    });
  });

  it('takes gcs / none and a shorter refresh; refuses another source and a refresh over 60 s', () => {
    expect(
      testConfig({ SLUICE_SUPPRESSION_SOURCE: 'gcs', SLUICE_SUPPRESSION_REFRESH_SECONDS: '5' }).suppression,
    ).toMatchObject({ source: 'gcs', refreshMs: 5000 });
    expect(testConfig({ SLUICE_SUPPRESSION_SOURCE: 'none' }).suppression.source).toBe('none');
    expect(() => testConfig({ SLUICE_SUPPRESSION_SOURCE: 'bigquery' })).toThrow(ConfigError);
    expect(() => testConfig({ SLUICE_SUPPRESSION_REFRESH_SECONDS: '61' })).toThrow(
      /SLUICE_SUPPRESSION_REFRESH_SECONDS/,
    );
  });
});
