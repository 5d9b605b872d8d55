import type { Logger } from 'pino';
import type { Destination } from '../destination.ts';
import type { BigQueryConfig } from './bigquery-config.ts';
import { bigQuerySettings } from './bigquery-context.ts';
import { bigQueryDestination } from './bigquery-destination.ts';
import { createGcpClients } from './gcp-clients.ts';

/** The BigQuery destination from config (what `createDestination` returns for SLUICE_DESTINATION=bigquery). */
export async function createBigQueryDestination(
  config: BigQueryConfig,
  options: { logger?: Logger; authClient?: unknown } = {},
): Promise<Destination> {
  const { bigquery, storage } = await createGcpClients(config, options);
  return bigQueryDestination(bigQuerySettings(config), {
    bigquery,
    storage,
    ...(options.logger ? { logger: options.logger } : {}),
  });
}
