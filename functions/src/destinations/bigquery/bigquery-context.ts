import type { BigQuery } from '@google-cloud/bigquery';
import type { Storage } from '@google-cloud/storage';
import type { Logger } from 'pino';
import type { JobRunner } from './job-runner.ts';
import type { RetryPolicy } from './retry.ts';

/** Settings of the BigQuery destination (from `loadConfig`, see functions/src/config.ts). */
export interface BigQueryDestinationSettings {
  projectId: string;
  datasetId: string;
  /** Dataset location, e.g. `US`, `EU`, `europe-west1`. Jobs run there. */
  location: string;
  /** Bucket and prefix for staged NDJSON (`gs://<bucket>/<prefix><load hash>/<table>/<batch>.ndjson`). */
  stagingBucket: string;
  stagingPrefix: string;
  /** Time budget of one delivery, from `open()`: retries and polling stop before it (then a retryable error). */
  timeBudgetMs: number;
  /** Staging tables expire by themselves after this long (a crashed load leaves nothing forever). */
  stagingTableTtlMs: number;
  retryInitialDelayMs: number;
  retryMaxDelayMs: number;
  pollInitialMs: number;
  pollMaxMs: number;
}

export const DEFAULT_BIGQUERY_TUNING = {
  stagingTableTtlMs: 24 * 3600 * 1000,
  retryInitialDelayMs: 500,
  retryMaxDelayMs: 16_000,
  pollInitialMs: 250,
  pollMaxMs: 4_000,
} as const;

/** What a session shares with its destination. */
export interface BigQueryContext {
  settings: BigQueryDestinationSettings;
  bigquery: BigQuery;
  storage: Storage;
  jobs: JobRunner;
  policy: () => RetryPolicy;
  now: () => number;
  logger: Logger | undefined;
}
