import { BigQuery } from '@google-cloud/bigquery';
import { Storage } from '@google-cloud/storage';
import type { BigQueryDestinationSettings } from '../../src/destinations/bigquery/bigquery-context.ts';
import {
  type BigQueryDestinationDeps,
  bigQueryDestination,
} from '../../src/destinations/bigquery/bigquery-destination.ts';
import type { Destination } from '../../src/destinations/destination.ts';
import { fakeAuthClient } from './fake-credentials.ts';
import type { FakeGcp } from './fake-gcp-server.ts';

/** Settings for tests: short backoffs so fault tests run in milliseconds. */
export function fakeSettings(
  fake: FakeGcp,
  overrides: Partial<BigQueryDestinationSettings> = {},
): BigQueryDestinationSettings {
  return {
    projectId: fake.project,
    datasetId: 'sluice',
    location: 'EU',
    stagingBucket: 'sluice-staging',
    stagingPrefix: 'staging/',
    timeBudgetMs: 20_000,
    stagingTableTtlMs: 24 * 3600 * 1000,
    retryInitialDelayMs: 5,
    retryMaxDelayMs: 40,
    pollInitialMs: 2,
    pollMaxMs: 10,
    // Every load refreshes `users`, so that the contract's upsert reads back at once (production: hourly).
    usersRefreshIntervalMs: 0,
    maxPartitionsPerFile: 2000,
    claimParamMaxBytes: 4 * 1024 * 1024,
    partitionsPerJob: 4000,
    ...overrides,
  };
}

/**
 * The real BigQuery destination with real `@google-cloud/bigquery` and `@google-cloud/storage` clients pointed at
 * the fake (client-side auto-retry off: the destination's own retry policy is under test).
 */
export function fakeBigQueryDestination(
  fake: FakeGcp,
  overrides: Partial<BigQueryDestinationSettings> = {},
  deps: Partial<BigQueryDestinationDeps> = {},
): Destination {
  const settings = fakeSettings(fake, overrides);
  const bigquery = new BigQuery({
    projectId: fake.project,
    apiEndpoint: fake.url,
    authClient: fakeAuthClient(),
    location: settings.location,
    retryOptions: { autoRetry: false },
  });
  const storage = new Storage({
    projectId: fake.project,
    apiEndpoint: fake.url,
    retryOptions: { autoRetry: false },
  });
  return bigQueryDestination(settings, { bigquery, storage, ...deps });
}
