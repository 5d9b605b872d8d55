import { PubSub, type Topic } from '@google-cloud/pubsub';
import type { CollectorConfig } from '../config.ts';
import type { OutboundMessage, Transport } from './transport.ts';

/**
 * Publishes each event as one Pub/Sub message (data = one JSON line; attributes = type + sourceId).
 * Works against the emulator when `emulatorHost` is set. The client batches messages (tuned by config);
 * `publish` resolves when Pub/Sub acked every message of the call.
 */
export class PubSubTransport implements Transport {
  readonly name = 'pubsub';
  private readonly client: PubSub;
  private readonly topic: Topic;

  constructor(config: CollectorConfig['pubsub'], options: { publishTimeoutMs: number }) {
    this.client = new PubSub({
      projectId: config.projectId,
      ...(config.emulatorHost ? { apiEndpoint: config.emulatorHost, emulatorMode: true } : {}),
    });
    this.topic = this.client.topic(config.topic, {
      batching: {
        maxMessages: config.batchMaxMessages,
        maxMilliseconds: config.batchMaxMilliseconds,
        maxBytes: 9 * 1024 * 1024,
      },
      // The collector answers 503 after its own publish timeout; give up on the RPC soon after so retries
      // inside the client cannot pile up memory while the broker is down.
      gaxOpts: { timeout: options.publishTimeoutMs },
    });
  }

  async publish(messages: readonly OutboundMessage[]): Promise<void> {
    await Promise.all(
      messages.map((m) =>
        this.topic.publishMessage({
          data: Buffer.from(m.data, 'utf8'),
          attributes: { type: m.attributes.type, sourceId: m.attributes.sourceId },
        }),
      ),
    );
  }

  async ready(): Promise<boolean> {
    try {
      await this.topic.getMetadata({ timeout: 2000, maxRetries: 0 });
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    try {
      await this.topic.flush();
    } finally {
      await this.client.close();
    }
  }
}
