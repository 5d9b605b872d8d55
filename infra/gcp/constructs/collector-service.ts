import { CloudRunV2Service } from '@cdktf/provider-google/lib/cloud-run-v2-service/index.js';
import { CloudRunV2ServiceIamMember } from '@cdktf/provider-google/lib/cloud-run-v2-service-iam-member/index.js';
import { Cloudfunctions2Function } from '@cdktf/provider-google/lib/cloudfunctions2-function/index.js';
import type { PubsubTopic } from '@cdktf/provider-google/lib/pubsub-topic/index.js';
import { PubsubTopicIamMember } from '@cdktf/provider-google/lib/pubsub-topic-iam-member/index.js';
import { SecretManagerSecretIamMember } from '@cdktf/provider-google/lib/secret-manager-secret-iam-member/index.js';
import type { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket/index.js';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member/index.js';
import { DataResource, type ITerraformDependable } from 'cdktf';
import type { Construct } from 'constructs';
import type { GcpConfig } from '../config.ts';
import { BUILD_LOGS_PREFIX, type FunctionBuild, functionBuildConfig } from './function-build.ts';
import { serviceAccount } from './service-account.ts';
import type { SourceArchive } from './source-bucket.ts';

/** The functions-framework HTTP target registered by the collector bundle (package-collector.ts). */
export const COLLECTOR_ENTRY_POINT = 'collect';

export interface CollectorServiceProps {
  config: Pick<
    GcpConfig,
    | 'project'
    | 'region'
    | 'environment'
    | 'nodeRuntime'
    | 'collector'
    | 'writeKeysSecretId'
    | 'collectorAccess'
  >;
  names: { collectorFunction: string; collectorAccount: string; artifactRepository: string };
  topic: PubsubTopic;
  /** The suppression list's bucket: the collector may read its objects, nothing else of Storage. */
  privacyBucket: StorageBucket;
  source: SourceArchive;
  build: FunctionBuild;
}

export interface Collector {
  /** The public URL the SDK points at. */
  url: string;
  /** The Cloud Run service that serves it (both modes run on Cloud Run). */
  serviceName: string;
}

/**
 * The collector: a public HTTP endpoint running the bundled collector on Cloud Run, as its own service account,
 * which may publish to the events topic, read the topic's metadata (`/readyz` calls `topic.getMetadata()`, i.e.
 * `pubsub.topics.get`, which `roles/pubsub.publisher` does not include: `roles/pubsub.viewer` on that topic only),
 * and read the write-keys secret, nothing else. The secret's value never passes through Terraform.
 *
 * Public access comes in two forms (`collectorAccess`), because organisations block one or the other:
 * - `invoker-iam-disabled` (default): a Cloud Run v2 service with `invoker_iam_disabled`
 *   (https://cloud.google.com/run/docs/securing/managing-access#invoker_check), refused where the org policy
 *   `run.managed.requireInvokerIam` is enforced. Its image is built from the same source zip by Cloud Build with
 *   Google's buildpacks (https://cloud.google.com/docs/buildpacks/build-function): the service's `build_config`
 *   alone records the source but does not build it (hashicorp/terraform-provider-google#22263, #23057), so a
 *   `terraform_data` runs `gcloud builds submit --pack` once per source hash, as the build account.
 * - `all-users`: a 2nd-gen function with `allUsers` -> `run.invoker`, refused under domain-restricted sharing
 *   (`iam.allowedPolicyMemberDomains`, https://cloud.google.com/resource-manager/docs/organization-policy/restricting-domains).
 */
export function collectorService(scope: Construct, props: CollectorServiceProps): Collector {
  const { config } = props;
  const account = serviceAccount(scope, 'collector-account', {
    project: config.project,
    accountId: props.names.collectorAccount,
    displayName: `Sluice collector (${config.environment})`,
  });
  const topicGrant = (id: string, role: string): PubsubTopicIamMember =>
    new PubsubTopicIamMember(scope, id, {
      project: config.project,
      topic: props.topic.name,
      role,
      member: account.member,
    });
  const grants: ITerraformDependable[] = [
    topicGrant('collector-topic-publisher', 'roles/pubsub.publisher'),
    topicGrant('collector-topic-viewer', 'roles/pubsub.viewer'),
    new SecretManagerSecretIamMember(scope, 'collector-write-keys-accessor', {
      project: config.project,
      secretId: config.writeKeysSecretId,
      role: 'roles/secretmanager.secretAccessor',
      member: account.member,
    }),
  ];
  const env = {
    SLUICE_TRANSPORT: 'pubsub',
    SLUICE_PUBSUB_PROJECT: config.project,
    SLUICE_PUBSUB_TOPIC: props.topic.name,
    // Cloud Run's front end appends the client address to X-Forwarded-For: trust exactly one hop.
    SLUICE_TRUST_PROXY: '1',
    LOG_EXECUTION_ID: 'true',
    SLUICE_SUPPRESSION_SOURCE: 'gcs',
    SLUICE_PRIVACY_BUCKET: props.privacyBucket.name,
  };
  // The narrowest grant that reads one object: objectViewer (get + list) on the privacy bucket only.
  const privacyGrant = new StorageBucketIamMember(scope, 'collector-privacy-reader', {
    bucket: props.privacyBucket.name,
    role: 'roles/storage.objectViewer',
    member: account.member,
  });
  grants.push(privacyGrant);
  const description = `Sluice collector (${config.environment}): Segment-compatible HTTP API`;
  const labels = { app: 'sluice', environment: config.environment };

  if (config.collectorAccess === 'all-users') {
    const fn = new Cloudfunctions2Function(scope, 'collector-function', {
      project: config.project,
      location: config.region,
      name: props.names.collectorFunction,
      description,
      labels,
      buildConfig: functionBuildConfig(props.build, {
        runtime: config.nodeRuntime,
        entryPoint: COLLECTOR_ENTRY_POINT,
        source: props.source.object,
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
        environmentVariables: env,
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
    return { url: fn.url, serviceName: fn.name };
  }

  const object = props.source.object;
  const image = `${config.region}-docker.pkg.dev/${config.project}/${props.names.artifactRepository}/collector:${props.source.hash.toLowerCase()}`;
  const sourceUri = `gs://${object.bucket}/${object.name}`;
  const imageBuild = new DataResource(scope, 'collector-image-build', {
    triggersReplace: { source: props.source.hash, image },
    dependsOn: [object, props.build.repository, ...props.build.grants],
    provisioners: [
      {
        type: 'local-exec',
        command: [
          'gcloud builds submit',
          sourceUri,
          `--project=${config.project}`,
          `--region=${config.region}`,
          `--pack=image=${image}`,
          `--service-account=${props.build.account.id}`,
          `--gcs-log-dir=gs://${object.bucket}/${BUILD_LOGS_PREFIX}`,
          '--quiet',
        ].join(' '),
      },
    ],
  });
  const service = new CloudRunV2Service(scope, 'collector-service', {
    project: config.project,
    location: config.region,
    name: props.names.collectorFunction,
    description,
    labels,
    ingress: 'INGRESS_TRAFFIC_ALL',
    invokerIamDisabled: true,
    deletionProtection: false,
    buildConfig: {
      sourceLocation: sourceUri,
      functionTarget: COLLECTOR_ENTRY_POINT,
      imageUri: image,
      serviceAccount: props.build.account.id,
    },
    template: {
      serviceAccount: account.email,
      timeout: '60s',
      maxInstanceRequestConcurrency: config.collector.concurrency,
      scaling: {
        minInstanceCount: config.collector.minInstances,
        maxInstanceCount: config.collector.maxInstances,
      },
      labels,
      containers: [
        {
          image,
          resources: { limits: { memory: config.collector.memory, cpu: config.collector.cpu } },
          env: [
            ...Object.entries(env).map(([name, value]) => ({ name, value })),
            {
              name: 'SLUICE_WRITE_KEYS',
              valueSource: { secretKeyRef: { secret: config.writeKeysSecretId, version: 'latest' } },
            },
          ],
        },
      ],
    },
    dependsOn: [imageBuild, ...grants],
  });
  return { url: service.uri, serviceName: service.name };
}
