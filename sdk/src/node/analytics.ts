import { takeBatch } from '../core/batch.ts';
import { identifyArgs, message, pageArgs } from '../core/message.ts';
import { runPlugins } from '../core/plugins.ts';
import { backoff } from '../core/retry.ts';
import type { Api, CallOptions, Dict, EventType, Logger, Plugin, SluiceEvent } from '../core/types.ts';
import {
  ERR_CLOSE_TIMEOUT,
  ERR_EVENT_TOO_LARGE,
  ERR_INTERNAL,
  ERR_INVALID_CALL,
  ERR_QUEUE_FULL,
  ERR_REJECTED,
  ERR_RETRIES_EXHAUSTED,
  ERR_SEND_FAILED,
  SdkConfigError,
} from '../errors.ts';
import { LIMITS } from '../protocol/enriched.ts';
import { VERSION } from '../version.ts';
import { httpTransport } from './http-transport.ts';
import { type PubSubTransportOptions, pubsubTransport } from './pubsub-transport.ts';
import type { Transport } from './transport.ts';

export interface NodeOptions {
  /** Write key for the HTTP transport. */
  writeKey?: string;
  /** Collector base URL for the HTTP transport. */
  host?: string;
  /** `http` (default), `pubsub` (needs `pubsub` options and the optional peer `@google-cloud/pubsub`), or your own. */
  transport?: 'http' | 'pubsub' | Transport;
  pubsub?: PubSubTransportOptions;
  /** Send when this many events are queued (default 15). */
  flushAt?: number;
  /** Send what is queued at least this often, in ms (default 10000). */
  flushInterval?: number;
  /** Most events held in memory; beyond it the oldest are dropped and counted (default 10000). */
  maxQueue?: number;
  /** Attempts per batch before it is dropped and reported (default 10). */
  maxRetries?: number;
  retryBase?: number;
  retryCap?: number;
  /** gzip request bodies (HTTP transport; default true). */
  gzip?: boolean;
  plugins?: Plugin[];
  logger?: Logger;
  fetch?: typeof fetch;
}

export interface NodeAnalytics extends Api {
  /** Node keeps no identity between calls: returns nothing stored. */
  user(): { anonymousId: null; userId: null; traits: Dict };
  /** No stored identity to clear in Node; present for API parity. */
  reset(): void;
  /** Sends what is queued; resolves once every in-flight request (including retries) has settled. */
  flush(): Promise<void>;
  /** Stops accepting events, flushes, and resolves within `timeout` ms (default 10000) whatever happens. */
  closeAndFlush(options?: { timeout?: number }): Promise<void>;
  stats(): { queued: number; inFlight: number; dropped: number };
}

const bytes = (s: string): number => Buffer.byteLength(s);
const noop = (): void => {};

function pickTransport(o: NodeOptions): Transport {
  const t = o.transport ?? 'http';
  if (typeof t === 'object') return t;
  if (t === 'pubsub') {
    if (!o.pubsub?.topic || !o.pubsub.sourceId) {
      throw new SdkConfigError('pubsub transport needs pubsub.topic and pubsub.sourceId');
    }
    return pubsubTransport(o.pubsub);
  }
  if (!o.writeKey || !o.host) throw new SdkConfigError('http transport needs writeKey and host');
  return httpTransport({ writeKey: o.writeKey, host: o.host, gzip: o.gzip, fetch: o.fetch });
}

/**
 * Creates a Node tracker. Throws `SdkConfigError` for bad options at construction only; afterwards every problem
 * goes to `options.logger` and no call throws.
 */
export function createNodeAnalytics(o: NodeOptions): NodeAnalytics {
  const transport = pickTransport(o);
  const log = o.logger ?? noop;
  const flushAt = o.flushAt ?? 15;
  const maxQueue = o.maxQueue ?? 10_000;
  const maxRetries = o.maxRetries ?? 10;
  const plugins: Plugin[] = [...(o.plugins ?? [])];
  const inFlight = new Set<Promise<void>>();
  const sleepers = new Set<() => void>();
  let queue: SluiceEvent[] = [];
  let dropped = 0;
  let closed = false;
  let stopping = false;
  const timer = setInterval(() => void flushQueue(), o.flushInterval ?? 10_000);
  timer.unref();

  /** Waits `ms`, or less if shutdown asks every sleeper to wake early. */
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(t);
        sleepers.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, ms);
      sleepers.add(wake);
    });

  async function deliver(batch: SluiceEvent[]): Promise<void> {
    let todo = batch;
    for (let attempt = 1; ; attempt++) {
      const r = await transport.send(todo, new Date().toISOString());
      if (r.ok) return;
      if (!r.retry) {
        log(ERR_REJECTED, { status: r.status, events: todo.length });
        return;
      }
      todo = r.rest ?? todo;
      if (attempt >= maxRetries || stopping) {
        log(ERR_RETRIES_EXHAUSTED, { status: r.status, events: todo.length, attempts: attempt });
        return;
      }
      const wait = backoff(attempt, o.retryBase ?? 500, o.retryCap ?? 30_000, r.after);
      log(ERR_SEND_FAILED, { status: r.status, attempt, retryInMs: Math.round(wait) });
      await sleep(wait);
    }
  }

  /** Cuts the queue into batches of at most `flushAt` events and 500 KB, and starts sending each. */
  function flushQueue(): void {
    while (queue.length) {
      // at least one event per batch, so the loop always progresses
      const batch = queue.splice(
        0,
        takeBatch(queue, LIMITS.maxBatchBytes, Math.max(flushAt, 1), bytes).length || 1,
      );
      const p: Promise<void> = deliver(batch)
        .catch((err: unknown) => log(ERR_INTERNAL, err))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
  }

  const emit = (type: EventType, fields: Dict, opts?: CallOptions): void => {
    try {
      if (closed) {
        log(ERR_INVALID_CALL, { reason: 'closed', type });
        return;
      }
      const e = runPlugins(
        plugins,
        message(type, fields, opts, { context: { library: { name: '@sluice/sdk', version: VERSION } } }),
        log,
      );
      if (!e) return;
      if (!e.userId && !e.anonymousId) {
        log(ERR_INVALID_CALL, { reason: 'userId or anonymousId is required', type });
        return;
      }
      if (bytes(JSON.stringify(e)) > LIMITS.maxEventBytes) {
        log(ERR_EVENT_TOO_LARGE, { type, messageId: e.messageId });
        return;
      }
      queue.push(e);
      if (queue.length > maxQueue) {
        const over = queue.length - maxQueue;
        queue = queue.slice(over);
        dropped += over;
        log(ERR_QUEUE_FULL, { dropped: over, total: dropped });
      }
      if (queue.length >= flushAt) flushQueue();
    } catch (err) {
      log(ERR_INTERNAL, err);
    }
  };

  const flush = async (): Promise<void> => {
    flushQueue();
    while (inFlight.size) await Promise.allSettled([...inFlight]);
  };

  return {
    track: (event, properties, opts) => emit('track', { event, properties: properties ?? {} }, opts),
    identify: (a, b, c) => {
      const { userId, traits, options } = identifyArgs(a, b, c);
      emit('identify', { userId, traits }, options);
    },
    page: (a, b, c, d) => {
      const { category, name, properties, options } = pageArgs(a, b, c, d);
      emit('page', { category, name, properties }, options);
    },
    screen: (a, b, c, d) => {
      const { category, name, properties, options } = pageArgs(a, b, c, d);
      emit('screen', { category, name, properties }, options);
    },
    group: (groupId, traits, opts) => emit('group', { groupId, traits: traits ?? {} }, opts),
    alias: (userId, previousId, opts) => emit('alias', { userId, previousId }, opts),
    use: (p) => void plugins.push(p),
    flush,
    reset: noop,
    user: () => ({ anonymousId: null, userId: null, traits: {} }),
    async closeAndFlush({ timeout = 10_000 } = {}) {
      closed = true;
      clearInterval(timer);
      let t: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<boolean>((resolve) => {
        t = setTimeout(() => resolve(true), timeout);
      });
      const done = await Promise.race([flush().then(() => false), expired]);
      clearTimeout(t);
      if (done) {
        // out of time: stop retrying, give every batch one last attempt, and report what is still unsent
        stopping = true;
        for (const wake of [...sleepers]) wake();
        log(ERR_CLOSE_TIMEOUT, { inFlight: inFlight.size, timeoutMs: timeout });
      }
      await transport.close?.().catch((err: unknown) => log(ERR_INTERNAL, err));
    },
    stats: () => ({ queued: queue.length, inFlight: inFlight.size, dropped }),
  };
}
