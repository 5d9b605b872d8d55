import type { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket/index.js';
import { StorageBucketObject } from '@cdktf/provider-google/lib/storage-bucket-object/index.js';
import { AssetType, TerraformAsset } from 'cdktf';
import type { Construct } from 'constructs';
import type { GcpConfig } from '../config.ts';
import { privateBucket } from './private-bucket.ts';

export interface SourceBucketProps {
  config: Pick<GcpConfig, 'project' | 'region' | 'environment'>;
  name: string;
}

/** Holds the functions' source zips. Terraform replaces (deletes) a zip when its hash changes. */
export function sourceBucket(scope: Construct, props: SourceBucketProps): StorageBucket {
  return privateBucket(scope, 'source-bucket', {
    config: props.config,
    name: props.name,
    role: 'source',
    forceDestroy: true,
  });
}

/**
 * Zips a prepared source directory (see package-function.ts) at synth time and uploads it. The object name holds
 * the content hash, so a code change is a new object and therefore a new function build.
 */
export function sourceArchive(
  scope: Construct,
  id: string,
  props: { bucket: StorageBucket; dir: string },
): SourceArchive {
  const asset = new TerraformAsset(scope, `${id}-asset`, { path: props.dir, type: AssetType.ARCHIVE });
  const object = new StorageBucketObject(scope, `${id}-zip`, {
    bucket: props.bucket.name,
    name: `${id}-${asset.assetHash}.zip`,
    source: asset.path,
    contentType: 'application/zip',
  });
  return { object, hash: asset.assetHash };
}

/** An uploaded source zip and its content hash (which also tags the image built from it). */
export interface SourceArchive {
  object: StorageBucketObject;
  hash: string;
}
