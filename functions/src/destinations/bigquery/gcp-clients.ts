import type { BigQuery } from '@google-cloud/bigquery';
import type { Storage } from '@google-cloud/storage';
import type { BigQueryConfig } from './bigquery-config.ts';

/**
 * The Google clients, loaded with dynamic import so the DuckDB path never loads them. Credentials are
 * Application Default Credentials (the function's service account on GCP). Endpoint overrides point them at a
 * proxy or at the test fake. Client-side auto-retry stays on for Storage (idempotent reads) and is off for
 * BigQuery: the destination retries itself, within its time budget, with deterministic job ids.
 */
export async function createGcpClients(
  config: BigQueryConfig,
  options: { authClient?: unknown } = {},
): Promise<{ bigquery: BigQuery; storage: Storage }> {
  const [{ BigQuery: BigQueryClient }, { Storage: StorageClient }] = await Promise.all([
    import('@google-cloud/bigquery'),
    import('@google-cloud/storage'),
  ]);
  const bigquery = new BigQueryClient({
    projectId: config.projectId,
    location: config.location,
    retryOptions: { autoRetry: false },
    ...(config.bigqueryEndpoint ? { apiEndpoint: config.bigqueryEndpoint } : {}),
    ...(options.authClient ? { authClient: options.authClient as never } : {}),
  });
  const storage = new StorageClient({
    projectId: config.projectId,
    ...(config.storageEndpoint ? { apiEndpoint: config.storageEndpoint } : {}),
  });
  return { bigquery, storage };
}
