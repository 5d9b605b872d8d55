import type { LoaderConfig } from '../config.ts';
import { LoaderError } from '../errors.ts';
import { openDuckdbWarehouse } from './duckdb-warehouse.ts';
import type { PrivacyWarehouse } from './warehouse.ts';

/** The configured destination's warehouse, for a privacy request (the BigQuery client is loaded on demand). */
export async function openPrivacyWarehouse(config: LoaderConfig): Promise<PrivacyWarehouse> {
  switch (config.destination) {
    case 'duckdb':
      return openDuckdbWarehouse({
        path: config.duckdbPath,
        lockTimeoutMs: config.lockTimeoutMs,
        memoryLimit: config.duckdbMemoryLimit,
      });
    case 'bigquery': {
      const [{ createGcpClients }, { bigQueryWarehouse }] = await Promise.all([
        import('../destinations/bigquery/gcp-clients.ts'),
        import('./bigquery-warehouse.ts'),
      ]);
      const clients = await createGcpClients(config.bigquery);
      return bigQueryWarehouse(config.bigquery, clients);
    }
    default: {
      const never: never = config.destination;
      throw new LoaderError('SLUICE_ERR_CONFIG_INVALID', `unknown destination ${String(never)}`);
    }
  }
}
