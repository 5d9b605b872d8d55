import { PubsubSubscription } from '@cdktf/provider-google/lib/pubsub-subscription/index.js';
import { PubsubTopic } from '@cdktf/provider-google/lib/pubsub-topic/index.js';
import type { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket/index.js';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member/index.js';
import type { ITerraformDependable } from 'cdktf';
import type { Construct } from 'constructs';
import type { GcpConfig } from '../config.ts';

/** Window files as the loader and `@sluice/sdk/protocol`'s DEFAULT_RAW_NAMING expect them. */
export const RAW_FILE_NAMING = {
  prefix: 'raw/',
  datetimeFormat: 'YYYY-MM-DD/hh_mm_ssZ',
  suffix: '.ndjson',
} as const;

export interface EventsTopicProps {
  config: Pick<GcpConfig, 'project' | 'environment' | 'windowSeconds' | 'maxFileBytes'>;
  names: { topic: string; subscription: string };
  rawBucket: StorageBucket;
  /** Email of the Pub/Sub service agent, which writes the files. */
  pubsubAgent: string;
  dependsOn: ITerraformDependable[];
}

export interface EventsTopic {
  topic: PubsubTopic;
  subscription: PubsubSubscription;
  agentBindings: StorageBucketIamMember[];
}

/**
 * The events topic and its Cloud Storage subscription: Pub/Sub itself batches a window of messages into one text
 * file (each message's data + `\n`, no attributes) under `raw/YYYY-MM-DD/`. The ack deadline is the window (it may
 * not be shorter); the subscription never expires; the service agent gets exactly the two roles it needs.
 */
export function eventsTopic(scope: Construct, props: EventsTopicProps): EventsTopic {
  const { config } = props;
  const labels = { app: 'sluice', environment: config.environment };
  const topic = new PubsubTopic(scope, 'events-topic', {
    project: config.project,
    name: props.names.topic,
    labels,
    dependsOn: props.dependsOn,
  });
  const member = `serviceAccount:${props.pubsubAgent}`;
  const agentBindings = (['roles/storage.objectCreator', 'roles/storage.legacyBucketReader'] as const).map(
    (role) =>
      new StorageBucketIamMember(scope, `raw-bucket-pubsub-agent-${role.split('.')[1]}`, {
        bucket: props.rawBucket.name,
        role,
        member,
      }),
  );
  const subscription = new PubsubSubscription(scope, 'raw-files-subscription', {
    project: config.project,
    name: props.names.subscription,
    topic: topic.id,
    ackDeadlineSeconds: config.windowSeconds,
    messageRetentionDuration: '604800s',
    expirationPolicy: { ttl: '' },
    cloudStorageConfig: {
      bucket: props.rawBucket.name,
      filenamePrefix: RAW_FILE_NAMING.prefix,
      filenameDatetimeFormat: RAW_FILE_NAMING.datetimeFormat,
      filenameSuffix: RAW_FILE_NAMING.suffix,
      maxDuration: `${config.windowSeconds}s`,
      maxBytes: config.maxFileBytes,
    },
    labels,
    dependsOn: agentBindings,
  });
  return { topic, subscription, agentBindings };
}
