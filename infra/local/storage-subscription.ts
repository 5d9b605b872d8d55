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
  /** How often the bucket's outbox is swept for files no delivery of was acknowledged. Default 30 s. */
  redeliverIntervalMs?: number;
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
 *
 * Unlike Eventarc's, a delivery in flight dies with this process. So the sink keeps an outbox (local-bucket.ts): on
 * `start()` every file left by a crash (renamed but never acknowledged, or still a temp file) is delivered before
 * anything else, and every `redeliverIntervalMs` the outbox is swept again for files neither delivered nor being
 * delivered here (e.g. left by the spool transport). An entry is removed when the loader answers 2xx.
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

  /** Names delivered, or being delivered, by this process: a sweep leaves them alone. */
  const claimed = new Set<string>();
  let sweepTimer: NodeJS.Timeout | undefined;

  const deliver = (object: FinalizedObject): void => {
    stats.files += 1;
    claimed.add(object.name);
    const task = deliverFinalized(object, delivery, stopper.signal).then(
      async () => {
        await options.sink.acknowledge?.(object.name);
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

  // Writes wait for the start-up recovery (it renames temp files the writer must not race with); names this
  // process writes are claimed from the moment their write starts (a sweep between the rename and `onFile` must
  // not deliver them a second time).
  let recovered: Promise<void> = Promise.resolve();
  const sink = options.sink;
  const claimingSink = {
    bucket: sink.bucket,
    write: async (name: string, content: Uint8Array) => {
      claimed.add(name);
      await recovered;
      return sink.write(name, content);
    },
  };

  const writer = createWindowWriter({
    windowMs: options.windowSeconds * 1000,
    maxBytes: options.maxBytes,
    naming: options.naming ?? DEFAULT_RAW_NAMING,
    clock,
    sink: claimingSink,
    newId: options.newId ?? randomUUID,
    onFile: deliver,
    logger,
  });

  const sweep = async (recover: boolean): Promise<void> => {
    const pending = (await options.sink.unacknowledged?.({ recover })) ?? [];
    for (const object of pending) {
      if (claimed.has(object.name)) continue;
      logger.warn(
        { bucket: object.bucket, name: object.name },
        'delivering a file no delivery of was acknowledged',
      );
      deliver(object);
    }
  };

  const settle = async (): Promise<void> => {
    while (inFlight.size > 0) await Promise.all([...inFlight]);
  };

  return {
    start() {
      recovered = sweep(true).catch((error: unknown) => {
        logger.error({ err: error }, 'recovering unacknowledged window files failed');
      });
      sweepTimer = setInterval(() => {
        void sweep(false).catch((error: unknown) => logger.error({ err: error }, 'outbox sweep failed'));
      }, options.redeliverIntervalMs ?? 30_000);
      sweepTimer.unref();
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
      clearInterval(sweepTimer);
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
