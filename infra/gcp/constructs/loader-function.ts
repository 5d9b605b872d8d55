import type { BigqueryDataset } from '@cdktf/provider-google/lib/bigquery-dataset/index.js';
import { BigqueryDatasetIamMember } from '@cdktf/provider-google/lib/bigquery-dataset-iam-member/index.js';
import { CloudRunV2ServiceIamMember } from '@cdktf/provider-google/lib/cloud-run-v2-service-iam-member/index.js';
import { Cloudfunctions2Function } from '@cdktf/provider-google/lib/cloudfunctions2-function/index.js';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member/index.js';
import type { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket/index.js';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member/index.js';
import type { ITerraformDependable } from 'cdktf';
import type { Construct } from 'constructs';
import { LOADER_NODE_OPTIONS } from '../../../functions/src/loader-process.ts';
import type { GcpConfig } from '../config.ts';
import { type FunctionBuild, functionBuildConfig } from './function-build.ts';
import { serviceAccount } from './service-account.ts';
import type { SourceArchive } from './source-bucket.ts';

/** The event the loader is triggered by, and the functions-framework target it registers. */
export const LOADER_EVENT_TYPE = 'google.cloud.storage.object.v1.finalized';
export const LOADER_ENTRY_POINT = 'loadEvents';

export interface LoaderFunctionProps {
  config: Pick<GcpConfig, 'project' | 'region' | 'environment' | 'nodeRuntime' | 'loader'>;
  names: { loaderFunction: string; loaderAccount: string; triggerAccount: string };
  rawBucket: StorageBucket;
  stagingBucket: StorageBucket;
  /** Holds the suppression list, which the loader reads at every file load (read only). */
  privacyBucket: StorageBucket;
  dataset: BigqueryDataset;
  source: SourceArchive;
  build: FunctionBuild;
}

/**
 * The loader: a 2nd-gen function built from the bundled `functions/` package, run once per window file by an
 * Eventarc `object.finalized` trigger on the raw bucket with retries ON (the loader throws only what a retry can
 * fix, and each load is idempotent). One request per instance: memory is bounded by the loader's batch size.
 * The Eventarc and Cloud Storage agents it relies on are created and granted by the project stack.
 */
export function loaderFunction(scope: Construct, props: LoaderFunctionProps): Cloudfunctions2Function {
  const { config } = props;
  const loader = serviceAccount(scope, 'loader-account', {
    project: config.project,
    accountId: props.names.loaderAccount,
    displayName: `Sluice loader (${config.environment})`,
  });
  const trigger = serviceAccount(scope, 'trigger-account', {
    project: config.project,
    accountId: props.names.triggerAccount,
    displayName: `Sluice loader trigger (${config.environment})`,
  });

  const grants: ITerraformDependable[] = [
    new StorageBucketIamMember(scope, 'loader-raw-reader', {
      bucket: props.rawBucket.name,
      role: 'roles/storage.objectViewer',
      member: loader.member,
    }),
    new StorageBucketIamMember(scope, 'loader-staging-writer', {
      bucket: props.stagingBucket.name,
      role: 'roles/storage.objectUser',
      member: loader.member,
    }),
    new StorageBucketIamMember(scope, 'loader-privacy-reader', {
      bucket: props.privacyBucket.name,
      role: 'roles/storage.objectViewer',
      member: loader.member,
    }),
    new BigqueryDatasetIamMember(scope, 'loader-dataset-editor', {
      project: config.project,
      datasetId: props.dataset.datasetId,
      role: 'roles/bigquery.dataEditor',
      member: loader.member,
    }),
    new ProjectIamMember(scope, 'loader-job-user', {
      project: config.project,
      role: 'roles/bigquery.jobUser',
      member: loader.member,
    }),
    new ProjectIamMember(scope, 'trigger-event-receiver', {
      project: config.project,
      role: 'roles/eventarc.eventReceiver',
      member: trigger.member,
    }),
    // The Cloud Storage agent's project-level pubsub.publisher (Eventarc creates the topics) is project-wide: it
    // lives in the project stack, so destroying one environment cannot remove another's.
  ];

  const fn = new Cloudfunctions2Function(scope, 'loader-function', {
    project: config.project,
    location: config.region,
    name: props.names.loaderFunction,
    description: `Sluice loader (${config.environment}): raw window files to BigQuery`,
    labels: { app: 'sluice', environment: config.environment },
    buildConfig: functionBuildConfig(props.build, {
      runtime: config.nodeRuntime,
      entryPoint: LOADER_ENTRY_POINT,
      source: props.source.object,
    }),
    serviceConfig: {
      availableMemory: config.loader.memory,
      availableCpu: config.loader.cpu,
      timeoutSeconds: config.loader.timeoutSeconds,
      maxInstanceCount: config.loader.maxInstances,
      maxInstanceRequestConcurrency: 1,
      ingressSettings: 'ALLOW_INTERNAL_ONLY',
      allTrafficOnLatestRevision: true,
      serviceAccountEmail: loader.email,
      environmentVariables: {
        SLUICE_DESTINATION: 'bigquery',
        SLUICE_GCP_PROJECT: config.project,
        SLUICE_BQ_DATASET: props.dataset.datasetId,
        SLUICE_BQ_LOCATION: config.region,
        SLUICE_RAW_BUCKET: props.rawBucket.name,
        SLUICE_STAGING_BUCKET: props.stagingBucket.name,
        SLUICE_PRIVACY_BUCKET: props.privacyBucket.name,
        LOG_EXECUTION_ID: 'true',
        NODE_OPTIONS: LOADER_NODE_OPTIONS,
      },
    },
    eventTrigger: {
      triggerRegion: config.region,
      eventType: LOADER_EVENT_TYPE,
      retryPolicy: 'RETRY_POLICY_RETRY',
      serviceAccountEmail: trigger.email,
      eventFilters: [{ attribute: 'bucket', value: props.rawBucket.name }],
    },
    dependsOn: [...grants, ...props.build.grants],
  });

  new CloudRunV2ServiceIamMember(scope, 'trigger-invoker', {
    project: config.project,
    location: config.region,
    name: fn.name,
    role: 'roles/run.invoker',
    member: trigger.member,
  });
  return fn;
}
