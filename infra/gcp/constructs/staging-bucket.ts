import type { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket/index.js';
import type { Construct } from 'constructs';
import type { GcpConfig } from '../config.ts';
import { privateBucket } from './private-bucket.ts';

export interface StagingBucketProps {
  config: Pick<GcpConfig, 'project' | 'region' | 'environment' | 'stagingRetentionDays'>;
  name: string;
}

/**
 * Staging for BigQuery load jobs (normalized NDJSON per table). A bucket of its own, not a prefix of the raw
 * bucket: the Eventarc trigger fires for every object of its bucket (it cannot filter by prefix), and the loader
 * needs write here but only read on raw. The loader deletes what it staged; lifecycle removes leftovers.
 */
export function stagingBucket(scope: Construct, props: StagingBucketProps): StorageBucket {
  return privateBucket(scope, 'staging-bucket', {
    config: props.config,
    name: props.name,
    role: 'staging',
    storageClass: 'STANDARD',
    forceDestroy: true,
    lifecycleRule: [{ condition: { age: props.config.stagingRetentionDays }, action: { type: 'Delete' } }],
  });
}
