import type { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket/index.js';
import type { Construct } from 'constructs';
import type { GcpConfig } from '../config.ts';
import { privateBucket } from './private-bucket.ts';

export interface PrivacyBucketProps {
  config: Pick<GcpConfig, 'project' | 'region' | 'environment'>;
  name: string;
}

/**
 * The suppression list (`suppressions.json`, hashes only; docs/privacy.md). A bucket of its own: not the raw
 * bucket (its trigger would load the list as a window file) and not staging (the collector may read the list and
 * nothing else, so it gets objectViewer here only). Written by whoever runs `npm run privacy` (their own
 * credentials); no lifecycle rule: the list must outlive every window.
 */
export function privacyBucket(scope: Construct, props: PrivacyBucketProps): StorageBucket {
  return privateBucket(scope, 'privacy-bucket', {
    config: props.config,
    name: props.name,
    role: 'privacy',
    storageClass: 'STANDARD',
    forceDestroy: false,
  });
}
