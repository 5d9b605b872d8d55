import type { BigQuery } from '@google-cloud/bigquery';
import type { Storage } from '@google-cloud/storage';
import type { Logger } from 'pino';
import type { BigQueryConfig } from './bigquery-config.ts';
import { type JobRunner, jobRunner } from './job-runner.ts';
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
  /** `users` is refreshed from the users log at most this often (0: by every load that has identifies). */
  usersRefreshIntervalMs: number;
  /**
   * Partition modifications one file's load jobs may make in all (a DAY-partitioned table counts each partition
   * a job writes against BigQuery's 30,000 per table per day, failed jobs included): above it the load is rejected.
   */
  maxPartitionsPerFile: number;
  /**
   * Partitions one load job may write: BigQuery's "Number of partitions modified by a single job: 4,000"
   * (https://cloud.google.com/bigquery/quotas#partitioned_tables); a table whose rows span more is appended by
   * several jobs.
   */
  partitionsPerJob: number;
  /** Above this size of the ids parameter, the claim reads the ids from a staging table instead (+10 MB). */
  claimParamMaxBytes: number;
}

export const DEFAULT_BIGQUERY_TUNING = {
  stagingTableTtlMs: 24 * 3600 * 1000,
  retryInitialDelayMs: 500,
  retryMaxDelayMs: 16_000,
  pollInitialMs: 250,
  pollMaxMs: 4_000,
  claimParamMaxBytes: 4 * 1024 * 1024,
  partitionsPerJob: 4_000,
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

/** The destination's settings from config: every BigQuery path (loads, privacy requests) builds them here. */
export function bigQuerySettings(config: BigQueryConfig): BigQueryDestinationSettings {
  return {
    projectId: config.projectId,
    datasetId: config.datasetId,
    location: config.location,
    stagingBucket: config.stagingBucket,
    stagingPrefix: config.stagingPrefix,
    timeBudgetMs: config.timeBudgetMs,
    usersRefreshIntervalMs: config.usersRefreshIntervalMs,
    maxPartitionsPerFile: config.maxPartitionsPerFile,
    ...DEFAULT_BIGQUERY_TUNING,
  };
}

export interface BigQueryContextDeps {
  bigquery: BigQuery;
  storage: Storage;
  logger?: Logger;
  /** Injected for tests: clock, sleep and jitter of the retry/poll loops. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/**
 * The context every BigQuery statement runs in: clients, the job runner and the retry policy, whose deadline is
 * `deadline()` at the time a call starts (a load: its delivery's budget from `open()`; a privacy request: the
 * whole budget per statement).
 */
export function bigQueryContext(
  settings: BigQueryDestinationSettings,
  deps: BigQueryContextDeps,
  deadline: (now: number) => number,
): BigQueryContext {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  return {
    settings,
    bigquery: deps.bigquery,
    storage: deps.storage,
    jobs: jobRunner({
      bigquery: deps.bigquery,
      location: settings.location,
      pollInitialMs: settings.pollInitialMs,
      pollMaxMs: settings.pollMaxMs,
    }),
    policy: () => ({
      deadline: deadline(now()),
      initialDelayMs: settings.retryInitialDelayMs,
      maxDelayMs: settings.retryMaxDelayMs,
      now,
      sleep,
      random: deps.random ?? Math.random,
    }),
    now,
    logger: deps.logger,
  };
}
