import type { LoaderConfig } from '../config.ts';
import { createRawStore } from './create-raw-store.ts';
import { objectSuppressionSource, type SuppressionSource } from './suppression-source.ts';

/** The loader's suppression source for its configured destination (local buckets directory or Cloud Storage). */
export async function createSuppressionSource(config: LoaderConfig): Promise<SuppressionSource> {
  return objectSuppressionSource(await createRawStore(config), {
    bucket: config.privacy.bucket,
    object: config.privacy.suppressionObject,
  });
}
