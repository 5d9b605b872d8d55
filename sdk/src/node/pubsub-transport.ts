import type { Outcome } from '../core/retry.ts';
import type { SluiceEvent } from '../protocol/messages.ts';
import { enrich } from './enrich.ts';
import type { Transport } from './transport.ts';

export interface PubSubTransportOptions {
  /** Topic the collector would publish to (`SLUICE_PUBSUB_TOPIC`, default `sluice-events`). */
  topic: string;
  /** The source id the collector maps this service's write key to (stamped as `sourceId`). */
  sourceId: string;
  projectId?: string;
  /** Extra `PubSub` client options (credentials, apiEndpoint); the emulator is picked up from PUBSUB_EMULATOR_HOST. */
  clientOptions?: Record<string, unknown>;
}

interface TopicLike {
  publishMessage(m: { data: Buffer; attributes: Record<string, string> }): Promise<string>;
  flush?(): Promise<void>;
}
interface PubSubLike {
  topic(name: string): TopicLike;
  close(): Promise<void>;
}

/** gRPC codes a retry can fix: CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE. */
const RETRYABLE = new Set([1, 2, 4, 8, 10, 13, 14]);

/**
 * Publishes straight to the collector's Pub/Sub topic, with the collector's message contract. `@google-cloud/pubsub`
 * is an optional peer dependency, imported only when this transport is first used.
 */
export function pubsubTransport(o: PubSubTransportOptions, load?: () => Promise<PubSubLike>): Transport {
  let client: Promise<PubSubLike> | undefined;
  const open = (): Promise<PubSubLike> => {
    client ??= load
      ? load()
      : import('@google-cloud/pubsub').then(
          (m) => new m.PubSub({ projectId: o.projectId, ...o.clientOptions }) as unknown as PubSubLike,
        );
    return client;
  };
  return {
    async send(batch, sentAt): Promise<Outcome & { rest?: SluiceEvent[] }> {
      let topic: TopicLike;
      try {
        topic = (await open()).topic(o.topic);
      } catch {
        client = undefined;
        return { ok: false, retry: false, status: 0 };
      }
      const now = new Date();
      const results = await Promise.allSettled(
        batch.map((e) => {
          const { data, attributes } = enrich(e, o.sourceId, sentAt, now);
          return topic.publishMessage({ data: Buffer.from(data), attributes: { ...attributes } });
        }),
      );
      const rest: SluiceEvent[] = [];
      let retry = false;
      results.forEach((r, i) => {
        if (r.status === 'rejected') {
          rest.push(batch[i]!);
          const code = (r.reason as { code?: unknown } | null)?.code;
          if (typeof code !== 'number' || RETRYABLE.has(code)) retry = true;
        }
      });
      return rest.length === 0 ? { ok: true } : { ok: false, retry, status: retry ? 503 : 400, rest };
    },
    async close() {
      if (client) await (await client).close();
    },
  };
}
