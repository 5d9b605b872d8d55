import type { Logger } from 'pino';
import type { Destination } from '../destination.ts';
import type { BigQueryConfig } from './bigquery-config.ts';
import { DEFAULT_BIGQUERY_TUNING } from './bigquery-context.ts';
import { bigQueryDestination } from './bigquery-destination.ts';
import { createGcpClients } from './gcp-clients.ts';

/** The BigQuery destination from config (what `createDestination` returns for SLUICE_DESTINATION=bigquery). */
export async function createBigQueryDestination(
  config: BigQueryConfig,
  options: { logger?: Logger; authClient?: unknown } = {},
): Promise<Destination> {
  const { bigquery, storage } = await createGcpClients(config, options);
  return bigQueryDestination(
    {
      projectId: config.projectId,
      datasetId: config.datasetId,
      location: config.location,
      stagingBucket: config.stagingBucket,
      stagingPrefix: config.stagingPrefix,
      timeBudgetMs: config.timeBudgetMs,
      usersRefreshIntervalMs: config.usersRefreshIntervalMs,
      maxPartitionsPerFile: config.maxPartitionsPerFile,
      ...DEFAULT_BIGQUERY_TUNING,
    },
    { bigquery, storage, ...(options.logger ? { logger: options.logger } : {}) },
  );
}
