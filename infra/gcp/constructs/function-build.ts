import { ArtifactRegistryRepository } from '@cdktf/provider-google/lib/artifact-registry-repository/index.js';
import { ArtifactRegistryRepositoryIamMember } from '@cdktf/provider-google/lib/artifact-registry-repository-iam-member/index.js';
import type { Cloudfunctions2FunctionBuildConfig } from '@cdktf/provider-google/lib/cloudfunctions2-function/index.js';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member/index.js';
import type { ServiceAccount } from '@cdktf/provider-google/lib/service-account/index.js';
import type { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket/index.js';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member/index.js';
import type { StorageBucketObject } from '@cdktf/provider-google/lib/storage-bucket-object/index.js';
import type { ITerraformDependable } from 'cdktf';
import type { Construct } from 'constructs';
import type { GcpConfig } from '../config.ts';
import { serviceAccount } from './service-account.ts';

export interface FunctionBuildProps {
  config: Pick<GcpConfig, 'project' | 'region' | 'environment'>;
  names: { artifactRepository: string; buildAccount: string };
  sourceBucket: StorageBucket;
  /** The project number (from the project stack): names Google's `gcf-v2-sources-<number>-<region>` bucket. */
  projectNumber: string;
}

/** Where 2nd-gen functions copy a deployment's source before Cloud Build reads it (Google's bucket, not ours). */
export const gcfSourcesBucket = (projectNumber: string, region: string): string =>
  `gcf-v2-sources-${projectNumber}-${region}`;

/** Build logs of the collector's Cloud Build run (invoker-iam-disabled mode), inside the source bucket. */
export const BUILD_LOGS_PREFIX = 'build-logs';

/** What Cloud Build needs to turn a source zip into a function image, without the default build account. */
export interface FunctionBuild {
  repository: ArtifactRegistryRepository;
  account: ServiceAccount;
  /** The build account's grants; functions depend on them so the first build has its permissions. */
  grants: ITerraformDependable[];
}

/**
 * A dedicated Cloud Build service account (new projects' default build account lacks permissions, and the legacy
 * one is over-broad) with: logs, write on this stack's image repository only, read on the source bucket, and read
 * on Google's `gcf-v2-sources-<number>-<region>` bucket, which 2nd-gen functions copy the zip into and build from:
 * without it the build fails with "Access to bucket gcf-v2-sources-... denied"
 * (hashicorp/terraform-provider-google#20571; the provider's "cloudfunctions2 basic builder" example grants
 * `roles/storage.objectAdmin` project-wide — here it is read only, on that bucket only, by an IAM condition on the
 * resource name, https://cloud.google.com/iam/docs/conditions-resource-attributes#resource-name). It may also
 * write the collector's build logs under `build-logs/` in the source bucket. The repository keeps the newest
 * images and deletes the rest.
 */
export function functionBuild(scope: Construct, props: FunctionBuildProps): FunctionBuild {
  const { config } = props;
  const repository = new ArtifactRegistryRepository(scope, 'functions-repository', {
    project: config.project,
    location: config.region,
    repositoryId: props.names.artifactRepository,
    format: 'DOCKER',
    description: `Sluice function images (${config.environment})`,
    cleanupPolicies: [
      { id: 'keep-recent', action: 'KEEP', mostRecentVersions: { keepCount: 5 } },
      { id: 'delete-old', action: 'DELETE', condition: { olderThan: '2592000s' } },
    ],
    labels: { app: 'sluice', environment: config.environment },
  });
  const account = serviceAccount(scope, 'build-account', {
    project: config.project,
    accountId: props.names.buildAccount,
    displayName: `Sluice function builds (${config.environment})`,
  });
  const gcfSources = gcfSourcesBucket(props.projectNumber, config.region);
  const member = account.member;
  const grants = [
    new ProjectIamMember(scope, 'build-account-log-writer', {
      project: config.project,
      role: 'roles/logging.logWriter',
      member,
    }),
    new ArtifactRegistryRepositoryIamMember(scope, 'build-account-repository-writer', {
      project: config.project,
      location: config.region,
      repository: repository.name,
      role: 'roles/artifactregistry.writer',
      member,
    }),
    new StorageBucketIamMember(scope, 'build-account-source-reader', {
      bucket: props.sourceBucket.name,
      role: 'roles/storage.objectViewer',
      member,
    }),
    new StorageBucketIamMember(scope, 'build-account-log-creator', {
      bucket: props.sourceBucket.name,
      role: 'roles/storage.objectCreator',
      member,
      condition: {
        title: 'build logs only',
        expression: `resource.name.startsWith("projects/_/buckets/${props.sourceBucket.name}/objects/${BUILD_LOGS_PREFIX}/")`,
      },
    }),
    new ProjectIamMember(scope, 'build-account-gcf-sources-reader', {
      project: config.project,
      role: 'roles/storage.objectViewer',
      member,
      condition: {
        title: 'gcf-v2-sources bucket only',
        description:
          'Cloud Functions copies the source zip here and Cloud Build reads it (provider issue 20571)',
        expression: `resource.name.startsWith("projects/_/buckets/${gcfSources}")`,
      },
    }),
  ];
  return { repository, account: account.resource, grants };
}

/** A function's `buildConfig`: Cloud Build turns `source` (a zip) into an image with this build account and repository. */
export function functionBuildConfig(
  build: FunctionBuild,
  props: { runtime: string; entryPoint: string; source: StorageBucketObject },
): Cloudfunctions2FunctionBuildConfig {
  return {
    runtime: props.runtime,
    entryPoint: props.entryPoint,
    source: { storageSource: { bucket: props.source.bucket, object: props.source.name } },
    serviceAccount: build.account.id,
    dockerRepository: build.repository.id,
  };
}
