import type { LoaderConfig } from '../config.ts';
import { LoaderError } from '../errors.ts';
import type { Destination } from './destination.ts';
import { duckdbDestination } from './duckdb/duckdb-destination.ts';
import { DuckDBInstances } from './duckdb/instances.ts';

/**
 * The process-level destination factory: one per process (the function's handler, a CLI run), returning a fresh
 * Destination per load. It owns what loads of one process share: for DuckDB, the registry that keeps one instance
 * per file and one load at a time per file (`DuckDBInstances`). Each destination module is imported where it is
 * used so a bundle only loads the driver it runs with (`@duckdb/node-api` is imported inside `open()`).
 */
export function createDestinationFactory(config: LoaderConfig): () => Promise<Destination> {
  const instances = new DuckDBInstances();
  return () => createDestination(config, instances);
}

/** One destination; loads of one process must share `instances` (use `createDestinationFactory`). */
export async function createDestination(
  config: LoaderConfig,
  instances: DuckDBInstances = new DuckDBInstances(),
): Promise<Destination> {
  switch (config.destination) {
    case 'duckdb':
      return duckdbDestination({
        path: config.duckdbPath,
        lockTimeoutMs: config.lockTimeoutMs,
        memoryLimit: config.duckdbMemoryLimit,
        instances,
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
