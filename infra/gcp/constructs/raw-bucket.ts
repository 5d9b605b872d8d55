import type { StorageBucket, StorageBucketConfig } from '@cdktf/provider-google/lib/storage-bucket/index.js';
import type { Construct } from 'constructs';
import type { GcpConfig } from '../config.ts';
import { privateBucket } from './private-bucket.ts';

export interface RawBucketProps {
  config: Pick<
    GcpConfig,
    'project' | 'region' | 'environment' | 'coldAfterDays' | 'retentionDays' | 'forceDestroy'
  >;
  name: string;
}

/**
 * The raw bucket the Cloud Storage subscription writes window files into: regional (same location as the dataset
 * and the trigger), uniform access, public access prevented; Coldline after `coldAfterDays` (0 = never; config.ts enforces Coldline's 90-day minimum), deleted after
 * `retentionDays` (kept for replay until then).
 */
export function rawBucket(scope: Construct, props: RawBucketProps): StorageBucket {
  const { config } = props;
  const lifecycleRule: NonNullable<StorageBucketConfig['lifecycleRule']> = [];
  if (config.coldAfterDays > 0) {
    lifecycleRule.push({
      condition: { age: config.coldAfterDays, matchesStorageClass: ['STANDARD'] },
      action: { type: 'SetStorageClass', storageClass: 'COLDLINE' },
    });
  }
  if (config.retentionDays > 0) {
    lifecycleRule.push({ condition: { age: config.retentionDays }, action: { type: 'Delete' } });
  }
  return privateBucket(scope, 'raw-bucket', {
    config,
    name: props.name,
    role: 'raw',
    storageClass: 'STANDARD',
    forceDestroy: config.forceDestroy,
    lifecycleRule,
  });
}
