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
}

/**
 * Streaming pull from a Pub/Sub (emulator) subscription. The client's lease manager keeps extending the ack
 * deadline of every held message (up to `maxLeaseSeconds`), so an open window never lets messages expire.
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
  return {
    start(onMessage, onError) {
      subscription.on('message', (message: Message) => {
        onMessage({ data: message.data, ack: () => message.ack(), nack: () => message.nack() });
      });
      subscription.on('error', onError);
    },
    async stop() {
      await subscription.close();
      await client.close();
    },
  };
}
