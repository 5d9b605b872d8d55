import { randomUUID } from 'node:crypto';
import { DEFAULT_RAW_NAMING, type FinalizedObject, type RawObjectNaming } from '@sluice/sdk/protocol';
import type { Logger } from 'pino';
import { type Clock, systemClock } from './clock.ts';
import {
  abortableSleep,
  DEFAULT_DELIVERY,
  type DeliveryOptions,
  deliverFinalized,
} from './cloud-event-delivery.ts';
import type { ObjectSink } from './local-bucket.ts';
import type { MessageSource } from './pubsub-source.ts';
import { createWindowWriter } from './window-writer.ts';

export interface StorageSubscriptionOptions {
  source: MessageSource;
  sink: ObjectSink;
  windowSeconds: number;
  maxBytes: number;
  loaderUrl: string;
  logger: Logger;
  naming?: RawObjectNaming;
  clock?: Clock;
  newId?: () => string;
  delivery?: Partial<Omit<DeliveryOptions, 'url' | 'logger'>>;
  /** How long `stop()` waits for in-flight CloudEvent deliveries before abandoning them. */
  stopGraceMs?: number;
}

export interface StorageSubscriptionStats {
  files: number;
  delivered: number;
  /** The most recently delivered files (up to 100), e.g. to redeliver one. */
  lastDelivered: FinalizedObject[];
  /** Files whose CloudEvent was never accepted (kept in the bucket: `npm run load` can load them). */
  undelivered: FinalizedObject[];
}

export interface StorageSubscription {
  start(): void;
  /** Closes the open window now and waits until every written file's CloudEvent is settled. */
  flush(): Promise<void>;
  stop(): Promise<void>;
  readonly stats: StorageSubscriptionStats;
}

/**
 * The Cloud Storage subscription stand-in: pulls messages, writes one raw file per window into the local bucket
 * (durably, before acking), then POSTs `object.finalized` to the loader the way Eventarc does (retrying).
 * Deliveries run concurrently with later windows, as Eventarc's do.
 */
export function createStorageSubscription(options: StorageSubscriptionOptions): StorageSubscription {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  const stopper = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const stats: StorageSubscriptionStats = { files: 0, delivered: 0, lastDelivered: [], undelivered: [] };
  const delivery: DeliveryOptions = {
    fetch: globalThis.fetch,
    sleep: abortableSleep,
    random: Math.random,
    ...DEFAULT_DELIVERY,
    ...options.delivery,
    url: options.loaderUrl,
    logger,
  };

  const deliver = (object: FinalizedObject): void => {
    stats.files += 1;
    const task = deliverFinalized(object, delivery, stopper.signal).then(
      () => {
        stats.delivered += 1;
        stats.lastDelivered.push(object);
        if (stats.lastDelivered.length > 100) stats.lastDelivered.shift();
      },
      (error: unknown) => {
        stats.undelivered.push(object);
        logger.error({ err: error, bucket: object.bucket, name: object.name }, 'finalized event abandoned');
      },
    );
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
  };

  const writer = createWindowWriter({
    windowMs: options.windowSeconds * 1000,
    maxBytes: options.maxBytes,
    naming: options.naming ?? DEFAULT_RAW_NAMING,
    clock,
    sink: options.sink,
    newId: options.newId ?? randomUUID,
    onFile: deliver,
    logger,
  });

  const settle = async (): Promise<void> => {
    while (inFlight.size > 0) await Promise.all([...inFlight]);
  };

  return {
    start() {
      options.source.start(
        (message) => writer.add(message),
        (error) => logger.error({ err: error }, 'subscription stream error (the client reconnects)'),
      );
    },
    async flush() {
      await writer.flush();
      await settle();
    },
    async stop() {
      await writer.close();
      await options.source.stop();
      const grace = options.stopGraceMs ?? 10_000;
      const timer = setTimeout(() => stopper.abort(new Error('stand-in stopped')), grace);
      await settle();
      clearTimeout(timer);
    },
    get stats() {
      return stats;
    },
  };
}
