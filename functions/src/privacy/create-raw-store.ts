import type { LoaderConfig } from '../config.ts';
import { localRawStore, type RawStore } from './raw-store.ts';

/** The writable object store of the configured destination: the buckets directory (duckdb) or Cloud Storage. */
export async function createRawStore(config: LoaderConfig): Promise<RawStore> {
  if (config.destination === 'bigquery') {
    const [{ Storage }, { gcsObjectStore }, { gcsRawStore }] = await Promise.all([
      import('@google-cloud/storage'),
      import('../storage/gcs.ts'),
      import('./raw-store.ts'),
    ]);
    const storage = new Storage({
      ...(config.bigquery.projectId ? { projectId: config.bigquery.projectId } : {}),
      ...(config.bigquery.storageEndpoint ? { apiEndpoint: config.bigquery.storageEndpoint } : {}),
    });
    return gcsRawStore(storage, gcsObjectStore(storage));
  }
  return localRawStore(config.bucketsDir);
}
