import type { LoaderConfig } from '../config.ts';
import { LoaderError } from '../errors.ts';
import type { Destination } from './destination.ts';
import { duckdbDestination } from './duckdb.ts';

/**
 * The configured destination. Each entry is imported where it is used so a bundle only loads the driver it
 * runs with (`@duckdb/node-api` is imported dynamically inside `duckdb.ts`'s `open()`).
 */
export async function createDestination(config: LoaderConfig): Promise<Destination> {
  switch (config.destination) {
    case 'duckdb':
      return duckdbDestination({
        path: config.duckdbPath,
        lockTimeoutMs: config.lockTimeoutMs,
        memoryLimit: config.duckdbMemoryLimit,
      });
    case 'bigquery': {
      const { createBigQueryDestination } = await import('./bigquery/create-bigquery-destination.ts');
      return createBigQueryDestination(config.bigquery);
    }
    default: {
      const never: never = config.destination;
      throw new LoaderError('SLUICE_ERR_CONFIG_INVALID', `unknown destination ${String(never)}`);
    }
  }
}
