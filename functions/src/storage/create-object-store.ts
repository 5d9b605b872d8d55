import type { LoaderConfig } from '../config.ts';
import { localDirectoryStore } from './local-directory.ts';
import type { ObjectStore } from './object-store.ts';

/**
 * The object store for a configured destination: local directories for duckdb; Cloud Storage for bigquery
 * (wired by the GCS implementation). Kept as one switch so the handler and the CLIs share it.
 */
export async function createObjectStore(config: LoaderConfig): Promise<ObjectStore> {
  if (config.destination === 'bigquery') {
    const { createGcsObjectStore } = await import('./gcs.ts');
    return createGcsObjectStore(config.bigquery);
  }
  return localDirectoryStore(config.bucketsDir);
}
