import type { LoaderConfig } from '../config.ts';
import { createRawStore } from './create-raw-store.ts';
import {
  cachedSuppressionSource,
  objectSuppressionSource,
  type SuppressionSource,
} from './suppression-source.ts';

/**
 * The loader's suppression source for its configured destination (local buckets directory or Cloud Storage),
 * cached for at most `SLUICE_SUPPRESSION_REFRESH_SECONDS` (suppression-source.ts). Create one per process.
 */
export async function createSuppressionSource(config: LoaderConfig): Promise<SuppressionSource> {
  return cachedSuppressionSource(
    objectSuppressionSource(await createRawStore(config), {
      bucket: config.privacy.bucket,
      object: config.privacy.suppressionObject,
    }),
    { maxAgeMs: config.privacy.suppressionRefreshMs },
  );
}
