import { Duration, type Message, PubSub } from '@google-cloud/pubsub';
import type { WindowMessage } from './window-writer.ts';

/** Where the stand-in's messages come from (seam for tests: an in-memory source needs no emulator). */
export interface MessageSource {
  start(onMessage: (message: WindowMessage) => void, onError: (error: Error) => void): void;
  /** Stops pulling; pending acks/nacks are sent before it resolves. */
  stop(): Promise<void>;
}

export interface PubSubSourceOptions {
  /** `host:port` of the emulator (passed explicitly; PUBSUB_EMULATOR_HOST is not read). */
  apiEndpoint: string;
  projectId: string;
  subscription: string;
  /** The longest a message may stay leased (unacked) — must exceed the window; the client extends deadlines. */
  maxLeaseSeconds: number;
  /** Flow control: messages held but not yet acked. Must cover a full window. */
  maxOutstandingMessages: number;
  maxOutstandingBytes: number;
  /** Longest wait between two reopen attempts. Default 10 s. */
  reopenMaxDelayMs?: number;
  /** Told about each reopen (logs). */
  onReopen?: (attempt: number) => void;
}

/**
 * Streaming pull from a Pub/Sub (emulator) subscription. The client's lease manager keeps extending the ack
 * deadline of every held message (up to `maxLeaseSeconds`), so an open window never lets messages expire.
 *
 * The client retries UNAVAILABLE by itself, but a non-retryable status ends its stream for good: after an emulator
 * restart the first pull may get NOT_FOUND ("Subscription does not exist") and the subscriber closes. The source
 * then reopens the subscription (1 s, doubling to `reopenMaxDelayMs`) until `stop()`, so pulling resumes as soon as
 * the supervisor has recreated the subscription.
 */
export function pubsubMessageSource(options: PubSubSourceOptions): MessageSource {
  const client = new PubSub({
    projectId: options.projectId,
    apiEndpoint: options.apiEndpoint,
    emulatorMode: true,
    // Set so the auth library does not probe the GCE metadata server (an emulator needs no credentials).
    universeDomain: 'googleapis.com',
  });
  const subscription = client.subscription(options.subscription, {
    maxExtensionTime: Duration.from({ seconds: options.maxLeaseSeconds }),
    flowControl: {
      maxMessages: options.maxOutstandingMessages,
      maxBytes: options.maxOutstandingBytes,
      allowExcessMessages: false,
    },
    closeOptions: { behavior: 'WAIT', timeout: Duration.from({ seconds: 10 }) },
  });
  let stopped = false;
  let attempt = 0;
  let reopenTimer: NodeJS.Timeout | undefined;
  const reopen = (): void => {
    if (stopped || reopenTimer) return;
    attempt += 1;
    const delay = Math.min(options.reopenMaxDelayMs ?? 10_000, 1000 * 2 ** (attempt - 1));
    reopenTimer = setTimeout(() => {
      reopenTimer = undefined;
      if (stopped || subscription.isOpen) return;
      options.onReopen?.(attempt);
      subscription.open();
    }, delay);
  };
  return {
    start(onMessage, onError) {
      subscription.on('message', (message: Message) => {
        attempt = 0;
        onMessage({ data: message.data, ack: () => message.ack(), nack: () => message.nack() });
      });
      subscription.on('error', onError);
      subscription.on('close', reopen);
    },
    async stop() {
      stopped = true;
      clearTimeout(reopenTimer);
      await subscription.close();
      await client.close();
    },
  };
}
