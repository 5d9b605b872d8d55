import { StorageBucket, type StorageBucketConfig } from '@cdktf/provider-google/lib/storage-bucket/index.js';
import type { Construct } from 'constructs';
import type { GcpConfig } from '../config.ts';

export interface PrivateBucketProps {
  config: Pick<GcpConfig, 'project' | 'region' | 'environment'>;
  name: string;
  /** The bucket's `role` label. */
  role: string;
  forceDestroy: boolean;
  storageClass?: string;
  lifecycleRule?: StorageBucketConfig['lifecycleRule'];
}

/** Every bucket of the stack: regional, uniform access, public access prevented, labelled with its role. */
export function privateBucket(scope: Construct, id: string, props: PrivateBucketProps): StorageBucket {
  const { config } = props;
  return new StorageBucket(scope, id, {
    project: config.project,
    name: props.name,
    location: config.region,
    storageClass: props.storageClass,
    uniformBucketLevelAccess: true,
    publicAccessPrevention: 'enforced',
    forceDestroy: props.forceDestroy,
    lifecycleRule: props.lifecycleRule,
    labels: { app: 'sluice', environment: config.environment, role: props.role },
  });
}
