import { takeBatch } from '../core/batch.ts';
import { identifyArgs, message, pageArgs } from '../core/message.ts';
import { runPlugins } from '../core/plugins.ts';
import { backoff, type Outcome, outcome } from '../core/retry.ts';
import type { Api, CallOptions, Dict, Logger, Plugin } from '../core/types.ts';
import { ERR_EVENT_TOO_LARGE, ERR_INTERNAL, ERR_REJECTED, ERR_SEND_FAILED } from '../errors.ts';
import { LIMITS } from '../protocol/enriched.ts';
import type { EventType, SluiceEvent } from '../protocol/messages.ts';
import { browserContext, pageInfo } from './context.ts';
import { identity, type User } from './identity.ts';
import { queue, SETTLE_MS } from './queue.ts';
import { safeStore } from './store.ts';

/** The most a `sendBeacon` / keepalive request may carry (the browser's shared in-flight budget). */
export const BEACON_BYTES = 64 * 1024;

export interface BrowserOptions {
  /** The source's write key (sent as HTTP Basic username, or in the body of beacons). */
  writeKey: string;
  /** Collector base URL, e.g. `https://collect.example.com`. */
  host: string;
  /** Send as soon as this many events are queued (default 20). */
  flushAt?: number;
  /** Send what is queued at least this often, in ms (default 1000). */
  flushInterval?: number;
  /** Most events kept in the persistent queue; beyond it the oldest are dropped and counted (default 1000). */
  maxQueue?: number;
  /** First retry delay in ms (default 500); doubles per attempt with jitter. */
  retryBase?: number;
  /** Longest retry delay in ms (default 60000), unless the collector's Retry-After asks for longer. */
  retryCap?: number;
  /** Cookie domain for the identity cookies, e.g. `.example.com` to share ids across subdomains. */
  cookieDomain?: string;
  /** Start with consent withheld: nothing is stored or sent until `enable()`. */
  disabled?: boolean;
  plugins?: Plugin[];
  /** Receives `(code, detail)` for everything that went wrong; the SDK never throws into the page. */
  logger?: Logger;
  /** Seams for tests and unusual hosts; default to the browser's own. */
  storage?: () => Storage | null | undefined;
  fetch?: typeof fetch;
  beacon?: (url: string, body: string) => boolean;
  target?: EventTarget;
}

export interface BrowserAnalytics extends Api {
  reset(): void;
  user(): User;
  enable(): void;
  disable(): void;
  /** Events waiting in this tab's queue, and events dropped because the queue was full. */
  stats(): { queued: number; dropped: number };
}

const bytes = (s: string): number => new TextEncoder().encode(s).length;
const noop = (): void => {};

/** Creates a browser tracker. Never throws after returning; problems go to `options.logger`. */
export function createAnalytics(o: BrowserOptions): BrowserAnalytics {
  const log = o.logger ?? noop;
  const f = o.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
  const g = globalThis as unknown as Window & typeof globalThis;
  const beacon = o.beacon ?? ((u: string, b: string) => g.navigator.sendBeacon(u, b));
  const target = o.target ?? ('addEventListener' in g ? g : new EventTarget());
  const flushAt = o.flushAt ?? 20;
  const url = `${o.host.replace(/\/+$/, '')}/v1/batch`;
  const auth = `Basic ${btoa(`${o.writeKey}:`)}`;
  const store = safeStore(o.storage ?? (() => g.localStorage), log);
  const id = identity(store, o.cookieDomain);
  const q = queue(store, `sluice:${o.writeKey}:`, o.maxQueue ?? 1000, log);
  const plugins: Plugin[] = [...(o.plugins ?? [])];
  const later = (fn: () => void): void => void setTimeout(fn, SETTLE_MS);

  let on = false;
  /** After pagehide this tab's queue belongs to whoever adopts it: send nothing more (unless restored). */
  let left = false;
  let timer: ReturnType<typeof setInterval> | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;
  let until = 0;
  let inflight: SluiceEvent[] = [];
  let keepBytes = 0;
  let current: Promise<boolean> | undefined;

  /** Oldest-first events not already in flight, up to `max` bytes of request body and 500 events. */
  const take = (max: number, skip?: readonly SluiceEvent[]): SluiceEvent[] =>
    takeBatch(q.items, max, 500, bytes, skip);

  const post = async (batch: SluiceEvent[]): Promise<boolean> => {
    const body = JSON.stringify({ batch, sentAt: new Date().toISOString() });
    const size = bytes(body);
    // keepalive lets the request outlive the page; the browser refuses keepalive bodies beyond its budget
    const keepalive = size <= BEACON_BYTES / 2;
    inflight = batch;
    keepBytes = keepalive ? size : 0;
    let r: Outcome;
    try {
      const res = await f(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: auth },
        body,
        keepalive,
      });
      r = outcome(res.status, res.headers.get('Retry-After'), Date.now());
    } catch (err) {
      r = { ok: false, retry: true, status: 0, after: undefined };
      log(ERR_SEND_FAILED, err);
    }
    inflight = [];
    keepBytes = 0;
    if (r.ok || !r.retry) {
      attempt = 0;
      q.remove(batch);
      if (!r.ok) log(ERR_REJECTED, { status: r.status, events: batch.length });
      return true;
    }
    attempt++;
    const wait = backoff(attempt, o.retryBase ?? 500, o.retryCap ?? 60_000, r.after);
    until = Date.now() + wait;
    log(ERR_SEND_FAILED, { status: r.status, attempt, retryInMs: Math.round(wait) });
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => {
      until = 0;
      void send();
    }, wait);
    return false;
  };

  /** One request at a time, so a batch is never in two requests at once. */
  function send(): Promise<boolean> {
    if (!current && on && !left && q.items.length && Date.now() >= until) {
      const batch = take(LIMITS.maxBatchBytes);
      current = post(batch).finally(() => {
        current = undefined;
      });
    }
    return current ?? Promise.resolve(true);
  }

  /** Page going away (or hidden, maybe for good): hand what is left to sendBeacon within its 64 KB budget. */
  const leave = (gone: boolean): void => {
    if (!on) return;
    if (gone && keepBytes) q.remove(inflight); // a keepalive request outlives the page: do not send it again
    let budget = BEACON_BYTES - keepBytes;
    if (g.navigator?.onLine !== false) {
      for (;;) {
        const batch = take(budget, inflight);
        if (!batch.length) break;
        const body = JSON.stringify({ batch, sentAt: new Date().toISOString(), writeKey: o.writeKey });
        if (!beacon(url, body)) break;
        q.remove(batch);
        budget -= bytes(body);
      }
    }
    if (gone) {
      left = true;
      q.orphan();
    }
  };

  const tick = (): void => {
    q.beat(Date.now());
    q.adopt(Date.now(), later);
    void send();
  };

  const start = (): void => {
    id.setPersist(true);
    q.beat(Date.now());
    q.adopt(Date.now(), later);
    timer = setInterval(tick, o.flushInterval ?? 1000);
  };

  const guard =
    <A extends unknown[], R>(fn: (...a: A) => R) =>
    (...a: A): R | undefined => {
      try {
        return fn(...a);
      } catch (err) {
        log(ERR_INTERNAL, err);
        return undefined;
      }
    };

  const emit = (type: EventType, fields: Dict, opts?: CallOptions): void => {
    if (!on) return; // consent withheld: nothing is stored or sent
    const u = id.user;
    const e = runPlugins(
      plugins,
      message(type, fields, opts, {
        userId: u.userId,
        anonymousId: u.anonymousId,
        context: browserContext(),
      }),
      log,
    );
    if (!e) return;
    if (bytes(JSON.stringify(e)) > LIMITS.maxEventBytes) {
      log(ERR_EVENT_TOO_LARGE, { type, messageId: e.messageId });
      return;
    }
    q.push(e);
    if (q.items.length >= flushAt) void send();
  };

  const onEvent = (name: string, fn: (e: Event) => void): void => target.addEventListener(name, guard(fn));
  onEvent('pagehide', () => leave(true));
  onEvent('pageshow', (e) => {
    if ((e as PageTransitionEvent).persisted && on) {
      left = false;
      q.renew();
      tick();
    }
  });
  onEvent('visibilitychange', () => g.document?.visibilityState === 'hidden' && leave(false));
  onEvent('online', () => {
    until = 0;
    void send();
  });

  const api: BrowserAnalytics = {
    track: guard((event: string, properties?: Dict, opts?: CallOptions) =>
      emit('track', { event, properties: properties ?? {} }, opts),
    ),
    identify: guard((a?: string | Dict | null, b?: Dict, c?: CallOptions) => {
      const { userId, traits, options } = identifyArgs(a, b, c);
      if (on) id.identify(userId, traits);
      emit('identify', { traits: id.user.traits }, options);
    }),
    page: guard((a?: string | Dict | null, b?: string | Dict | null, c?: Dict, d?: CallOptions) => {
      const { category, name, properties, options } = pageArgs(a, b, c, d);
      emit('page', { category, name, properties: { ...pageInfo(), name, category, ...properties } }, options);
    }),
    screen: guard((a?: string | Dict | null, b?: string | Dict | null, c?: Dict, d?: CallOptions) => {
      const { category, name, properties, options } = pageArgs(a, b, c, d);
      emit('screen', { category, name, properties }, options);
    }),
    group: guard((groupId: string, traits?: Dict, opts?: CallOptions) =>
      emit('group', { groupId, traits: traits ?? {} }, opts),
    ),
    alias: guard((userId: string, previousId?: string, opts?: CallOptions) =>
      emit('alias', { userId, previousId: previousId ?? id.user.userId ?? id.user.anonymousId }, opts),
    ),
    use: guard((p: Plugin) => void plugins.push(p)),
    async flush(): Promise<void> {
      try {
        until = 0;
        clearTimeout(retryTimer);
        while (on && q.items.length && (await send()));
      } catch (err) {
        log(ERR_INTERNAL, err);
      }
    },
    reset: guard(() => id.reset()),
    user: () => ({ ...id.user }),
    enable: guard(() => {
      if (!on) {
        on = true;
        start();
      }
    }),
    disable: guard(() => {
      on = false;
      clearInterval(timer);
      clearTimeout(retryTimer);
      id.setPersist(false);
      q.clear();
    }),
    stats: () => ({ queued: q.items.length, dropped: q.dropped }),
  } as BrowserAnalytics;
  if (!o.disabled) api.enable();
  return api;
}
