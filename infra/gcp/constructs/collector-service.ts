import { CloudRunV2ServiceIamMember } from '@cdktf/provider-google/lib/cloud-run-v2-service-iam-member/index.js';
import { Cloudfunctions2Function } from '@cdktf/provider-google/lib/cloudfunctions2-function/index.js';
import type { PubsubTopic } from '@cdktf/provider-google/lib/pubsub-topic/index.js';
import { PubsubTopicIamMember } from '@cdktf/provider-google/lib/pubsub-topic-iam-member/index.js';
import { SecretManagerSecretIamMember } from '@cdktf/provider-google/lib/secret-manager-secret-iam-member/index.js';
import type { StorageBucketObject } from '@cdktf/provider-google/lib/storage-bucket-object/index.js';
import type { ITerraformDependable } from 'cdktf';
import type { Construct } from 'constructs';
import type { GcpConfig } from '../config.ts';
import { type FunctionBuild, functionBuildConfig } from './function-build.ts';
import { serviceAccount } from './service-account.ts';

/** The functions-framework HTTP target registered by the collector bundle (package-collector.ts). */
export const COLLECTOR_ENTRY_POINT = 'collect';

export interface CollectorServiceProps {
  config: Pick<
    GcpConfig,
    'project' | 'region' | 'environment' | 'nodeRuntime' | 'collector' | 'writeKeysSecretId'
  >;
  names: { collectorFunction: string; collectorAccount: string };
  topic: PubsubTopic;
  source: StorageBucketObject;
  build: FunctionBuild;
  dependsOn: ITerraformDependable[];
}

/**
 * The collector as a public 2nd-gen HTTP function (Cloud Run underneath, built by Cloud Build from the source zip:
 * no local docker). Its own service account may publish to the events topic and read the write-keys secret, nothing
 * else. The secret holds `SLUICE_WRITE_KEYS`; its value never passes through Terraform.
 */
export function collectorService(scope: Construct, props: CollectorServiceProps): Cloudfunctions2Function {
  const { config } = props;
  const account = serviceAccount(scope, 'collector-account', {
    project: config.project,
    accountId: props.names.collectorAccount,
    displayName: `Sluice collector (${config.environment})`,
    dependsOn: props.dependsOn,
  });
  const grants = [
    new PubsubTopicIamMember(scope, 'collector-topic-publisher', {
      project: config.project,
      topic: props.topic.name,
      role: 'roles/pubsub.publisher',
      member: account.member,
    }),
    new SecretManagerSecretIamMember(scope, 'collector-write-keys-accessor', {
      project: config.project,
      secretId: config.writeKeysSecretId,
      role: 'roles/secretmanager.secretAccessor',
      member: account.member,
    }),
  ];
  const fn = new Cloudfunctions2Function(scope, 'collector-function', {
    project: config.project,
    location: config.region,
    name: props.names.collectorFunction,
    description: `Sluice collector (${config.environment}): Segment-compatible HTTP API`,
    labels: { app: 'sluice', environment: config.environment },
    buildConfig: functionBuildConfig(props.build, {
      runtime: config.nodeRuntime,
      entryPoint: COLLECTOR_ENTRY_POINT,
      source: props.source,
    }),
    serviceConfig: {
      availableMemory: config.collector.memory,
      availableCpu: config.collector.cpu,
      timeoutSeconds: 60,
      minInstanceCount: config.collector.minInstances,
      maxInstanceCount: config.collector.maxInstances,
      maxInstanceRequestConcurrency: config.collector.concurrency,
      ingressSettings: 'ALLOW_ALL',
      allTrafficOnLatestRevision: true,
      serviceAccountEmail: account.email,
      environmentVariables: {
        SLUICE_TRANSPORT: 'pubsub',
        SLUICE_PUBSUB_PROJECT: config.project,
        SLUICE_PUBSUB_TOPIC: props.topic.name,
        // Cloud Run's front end appends the client address to X-Forwarded-For: trust exactly one hop.
        SLUICE_TRUST_PROXY: '1',
        LOG_EXECUTION_ID: 'true',
      },
      secretEnvironmentVariables: [
        {
          key: 'SLUICE_WRITE_KEYS',
          projectId: config.project,
          secret: config.writeKeysSecretId,
          version: 'latest',
        },
      ],
    },
    dependsOn: [...grants, ...props.build.grants],
  });
  new CloudRunV2ServiceIamMember(scope, 'collector-public-invoker', {
    project: config.project,
    location: config.region,
    name: fn.name,
    role: 'roles/run.invoker',
    member: 'allUsers',
  });
  return fn;
}
