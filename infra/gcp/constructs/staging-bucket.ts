import { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket/index.js';
import type { ITerraformDependable } from 'cdktf';
import type { Construct } from 'constructs';
import type { GcpConfig } from '../config.ts';

export interface StagingBucketProps {
  config: Pick<GcpConfig, 'project' | 'region' | 'environment' | 'stagingRetentionDays'>;
  name: string;
  dependsOn: ITerraformDependable[];
}

/**
 * Staging for BigQuery load jobs (normalized NDJSON per table). A bucket of its own, not a prefix of the raw
 * bucket: the Eventarc trigger fires for every object of its bucket (it cannot filter by prefix), and the loader
 * needs write here but only read on raw. The loader deletes what it staged; lifecycle removes leftovers.
 */
export function stagingBucket(scope: Construct, props: StagingBucketProps): StorageBucket {
  const { config } = props;
  return new StorageBucket(scope, 'staging-bucket', {
    project: config.project,
    name: props.name,
    location: config.region,
    storageClass: 'STANDARD',
    uniformBucketLevelAccess: true,
    publicAccessPrevention: 'enforced',
    forceDestroy: true,
    lifecycleRule: [{ condition: { age: config.stagingRetentionDays }, action: { type: 'Delete' } }],
    labels: { app: 'sluice', environment: config.environment, role: 'staging' },
    dependsOn: props.dependsOn,
  });
}
