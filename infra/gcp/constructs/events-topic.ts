import { PubsubSubscription } from '@cdktf/provider-google/lib/pubsub-subscription/index.js';
import { PubsubSubscriptionIamMember } from '@cdktf/provider-google/lib/pubsub-subscription-iam-member/index.js';
import { PubsubTopic } from '@cdktf/provider-google/lib/pubsub-topic/index.js';
import { PubsubTopicIamMember } from '@cdktf/provider-google/lib/pubsub-topic-iam-member/index.js';
import type { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket/index.js';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member/index.js';
import type { Construct } from 'constructs';
import type { GcpConfig } from '../config.ts';

/** Window files as the loader and `@sluice/sdk/protocol`'s DEFAULT_RAW_NAMING expect them. */
export const RAW_FILE_NAMING = {
  prefix: 'raw/',
  datetimeFormat: 'YYYY-MM-DD/hh_mm_ssZ',
  suffix: '.ndjson',
} as const;

/** Messages the Cloud Storage subscription could not write after this many attempts go to the dead-letter topic. */
export const MAX_DELIVERY_ATTEMPTS = 10;
/** What lands in the dead-letter topic is kept this long (the subscription's maximum, 7 days). */
export const DEAD_LETTER_RETENTION = '604800s';

export interface EventsTopicProps {
  config: Pick<GcpConfig, 'project' | 'environment' | 'windowSeconds' | 'maxFileBytes'>;
  names: { topic: string; subscription: string; deadLetterTopic: string; deadLetterSubscription: string };
  rawBucket: StorageBucket;
  /** IAM member of the Pub/Sub service agent (created by the project stack), which writes the files. */
  pubsubAgent: string;
}

export interface EventsTopic {
  topic: PubsubTopic;
  subscription: PubsubSubscription;
  deadLetterTopic: PubsubTopic;
  deadLetterSubscription: PubsubSubscription;
}

/**
 * The events topic and its Cloud Storage subscription: Pub/Sub itself batches a window of messages into one text
 * file (each message's data + `\n`, no attributes) under `raw/YYYY-MM-DD/`. The ack deadline is the window (it may
 * not be shorter); the subscription never expires; the service agent gets exactly the roles it needs. Messages
 * Pub/Sub cannot write (bucket gone, permission removed) go, after MAX_DELIVERY_ATTEMPTS, to a dead-letter topic
 * whose subscription keeps them for a week (https://cloud.google.com/pubsub/docs/handling-failures): the agent
 * needs publisher on that topic and subscriber on the source subscription
 * (https://cloud.google.com/pubsub/docs/handling-failures#grant_forwarding_permissions).
 */
export function eventsTopic(scope: Construct, props: EventsTopicProps): EventsTopic {
  const { config } = props;
  const labels = { app: 'sluice', environment: config.environment };
  const topic = new PubsubTopic(scope, 'events-topic', {
    project: config.project,
    name: props.names.topic,
    labels,
  });
  const deadLetterTopic = new PubsubTopic(scope, 'dead-letter-topic', {
    project: config.project,
    name: props.names.deadLetterTopic,
    labels,
  });
  const deadLetterSubscription = new PubsubSubscription(scope, 'dead-letter-subscription', {
    project: config.project,
    name: props.names.deadLetterSubscription,
    topic: deadLetterTopic.id,
    ackDeadlineSeconds: 600,
    messageRetentionDuration: DEAD_LETTER_RETENTION,
    retainAckedMessages: true,
    expirationPolicy: { ttl: '' },
    labels,
  });
  const member = props.pubsubAgent;
  const agentBindings = (['roles/storage.objectCreator', 'roles/storage.legacyBucketReader'] as const).map(
    (role) =>
      new StorageBucketIamMember(scope, `raw-bucket-pubsub-agent-${role.split('.')[1]}`, {
        bucket: props.rawBucket.name,
        role,
        member,
      }),
  );
  const deadLetterPublisher = new PubsubTopicIamMember(scope, 'dead-letter-pubsub-agent-publisher', {
    project: config.project,
    topic: deadLetterTopic.name,
    role: 'roles/pubsub.publisher',
    member,
  });
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
    deadLetterPolicy: { deadLetterTopic: deadLetterTopic.id, maxDeliveryAttempts: MAX_DELIVERY_ATTEMPTS },
    labels,
    dependsOn: [...agentBindings, deadLetterPublisher],
  });
  new PubsubSubscriptionIamMember(scope, 'raw-files-pubsub-agent-subscriber', {
    project: config.project,
    subscription: subscription.name,
    role: 'roles/pubsub.subscriber',
    member,
  });
  return { topic, subscription, deadLetterTopic, deadLetterSubscription };
}
