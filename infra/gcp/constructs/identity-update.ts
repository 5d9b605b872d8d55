import type { BigqueryDataset } from '@cdktf/provider-google/lib/bigquery-dataset/index.js';
import { BigqueryDatasetIamMember } from '@cdktf/provider-google/lib/bigquery-dataset-iam-member/index.js';
import { CloudRunV2ServiceIamMember } from '@cdktf/provider-google/lib/cloud-run-v2-service-iam-member/index.js';
import { CloudSchedulerJob } from '@cdktf/provider-google/lib/cloud-scheduler-job/index.js';
import { Cloudfunctions2Function } from '@cdktf/provider-google/lib/cloudfunctions2-function/index.js';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member/index.js';
import type { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket/index.js';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member/index.js';
import type { Construct } from 'constructs';
import type { GcpConfig } from '../config.ts';
import { type FunctionBuild, functionBuildConfig } from './function-build.ts';
import { serviceAccount } from './service-account.ts';
import type { SourceArchive } from './source-bucket.ts';

/** The functions-framework target the loader package registers for the update (functions/src/index.ts). */
export const IDENTITY_ENTRY_POINT = 'updateIdentity';

export interface IdentityUpdateProps {
  config: Pick<GcpConfig, 'project' | 'region' | 'environment' | 'nodeRuntime' | 'identityUpdate' | 'loader'>;
  names: { identityFunction: string; identityAccount: string; schedulerAccount: string; identityJob: string };
  stagingBucket: StorageBucket;
  dataset: BigqueryDataset;
  /** The loader's source archive: the same package, another entry point. */
  source: SourceArchive;
  build: FunctionBuild;
}

/**
 * The scheduled identity update: a Cloud Scheduler job calls an HTTP 2nd-gen function (`updateIdentity`, the
 * loader's package) with an OIDC token of its own invoker account (https://cloud.google.com/scheduler/docs/http-target-auth):
 * - the function runs as `identityAccount`: BigQuery dataEditor on the dataset and jobUser on the project (query
 *   and load jobs), and objectUser on the staging bucket (the update's watermark and lease object, and the rebuild's
 *   load inputs); nothing else;
 * - the scheduler's account holds only `run.invoker` on the function's service;
 * - ingress is internal only: Cloud Scheduler requests count as internal
 *   (https://cloud.google.com/run/docs/securing/ingress#internal-services).
 * One instance at most: two runs never overlap there, and the lease (SLUICE_IDENTITY_LEASE_SECONDS, set above
 * the timeout) covers a manual `npm run identity -- update` at the same time.
 */
export function identityUpdate(
  scope: Construct,
  props: IdentityUpdateProps,
): { fn: Cloudfunctions2Function; job: CloudSchedulerJob } {
  const { config } = props;
  const runner = serviceAccount(scope, 'identity-account', {
    project: config.project,
    accountId: props.names.identityAccount,
    displayName: `Sluice identity update (${config.environment})`,
  });
  const invoker = serviceAccount(scope, 'scheduler-account', {
    project: config.project,
    accountId: props.names.schedulerAccount,
    displayName: `Sluice identity update scheduler (${config.environment})`,
  });
  const grants = [
    new BigqueryDatasetIamMember(scope, 'identity-dataset-editor', {
      project: config.project,
      datasetId: props.dataset.datasetId,
      role: 'roles/bigquery.dataEditor',
      member: runner.member,
    }),
    new ProjectIamMember(scope, 'identity-job-user', {
      project: config.project,
      role: 'roles/bigquery.jobUser',
      member: runner.member,
    }),
    new StorageBucketIamMember(scope, 'identity-staging-user', {
      bucket: props.stagingBucket.name,
      role: 'roles/storage.objectUser',
      member: runner.member,
    }),
  ];
  const timeout = config.identityUpdate.timeoutSeconds;
  const fn = new Cloudfunctions2Function(scope, 'identity-function', {
    project: config.project,
    location: config.region,
    name: props.names.identityFunction,
    description: `Sluice identity update (${config.environment}): identity_edge_log into identity_map, on a schedule`,
    labels: { app: 'sluice', environment: config.environment },
    buildConfig: functionBuildConfig(props.build, {
      runtime: config.nodeRuntime,
      entryPoint: IDENTITY_ENTRY_POINT,
      source: props.source.object,
    }),
    serviceConfig: {
      availableMemory: config.identityUpdate.memory,
      timeoutSeconds: timeout,
      maxInstanceCount: 1,
      maxInstanceRequestConcurrency: 1,
      ingressSettings: 'ALLOW_INTERNAL_ONLY',
      allTrafficOnLatestRevision: true,
      serviceAccountEmail: runner.email,
      environmentVariables: {
        SLUICE_DESTINATION: 'bigquery',
        SLUICE_GCP_PROJECT: config.project,
        SLUICE_BQ_DATASET: props.dataset.datasetId,
        SLUICE_BQ_LOCATION: config.region,
        SLUICE_STAGING_BUCKET: props.stagingBucket.name,
        // Longer than a run may last (the timeout), so a run is never taken over while it works.
        SLUICE_IDENTITY_LEASE_SECONDS: String(2 * timeout),
        // A load commits at most the loader's timeout after its rows' loaded_at.
        SLUICE_IDENTITY_OVERLAP_SECONDS: String(Math.max(3600, 2 * config.loader.timeoutSeconds)),
        LOG_EXECUTION_ID: 'true',
      },
    },
    dependsOn: [...grants, ...props.build.grants],
  });
  new CloudRunV2ServiceIamMember(scope, 'scheduler-invoker', {
    project: config.project,
    location: config.region,
    name: fn.name,
    role: 'roles/run.invoker',
    member: invoker.member,
  });
  const job = new CloudSchedulerJob(scope, 'identity-job', {
    project: config.project,
    region: config.region,
    name: props.names.identityJob,
    description: `Sluice identity update (${config.environment})`,
    schedule: config.identityUpdate.schedule,
    timeZone: 'Etc/UTC',
    // The scheduler waits for the run (its deadline at most 30 min for HTTP targets); a failed run is retried once.
    attemptDeadline: `${Math.min(timeout, 1800)}s`,
    retryConfig: { retryCount: 1, minBackoffDuration: '60s' },
    httpTarget: {
      uri: fn.url,
      httpMethod: 'POST',
      oidcToken: { serviceAccountEmail: invoker.email, audience: fn.url },
    },
  });
  return { fn, job };
}
