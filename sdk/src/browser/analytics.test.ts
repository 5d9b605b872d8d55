import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeFetch, fakeLogger, MemoryStorage } from '../../test/fakes.ts';
import {
  ERR_EVENT_TOO_LARGE,
  ERR_PLUGIN,
  ERR_QUEUE_FULL,
  ERR_REJECTED,
  ERR_SEND_FAILED,
  ERR_STORAGE,
} from '../errors.ts';
import { checkEvent } from '../protocol/check.ts';
import { BEACON_BYTES, type BrowserOptions, createAnalytics } from './analytics.ts';
import { SETTLE_MS } from './queue.ts';

const KEY = 'wk_test';

function setup(over: Partial<BrowserOptions> = {}, storage = new MemoryStorage(), net = fakeFetch()) {
  const log = fakeLogger();
  const target = new EventTarget();
  const beacons: { url: string; body: string }[] = [];
  const a = createAnalytics({
    writeKey: KEY,
    host: 'https://collect.example.com/',
    fetch: net.fetch,
    storage: () => storage,
    logger: log.logger,
    target,
    beacon: (url, body) => beacons.push({ url, body }) > 0,
    ...over,
  });
  return { a, net, log, storage, target, beacons };
}

const queued = (s: MemoryStorage): unknown[] =>
  [...s.map.entries()].filter(([k]) => k.startsWith(`sluice:${KEY}:q:`)).flatMap(([, v]) => JSON.parse(v));

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2024-05-01T12:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('browser SDK: events and batching', () => {
  it('sends protocol-valid events to /v1/batch with Basic auth and sentAt stamped at send', async () => {
    const { a, net } = setup({ flushAt: 3 });
    a.track('Order Completed', { total: 10 }, { context: { app: { name: 'shop' } } });
    a.identify('u1', { plan: 'pro' });
    expect(net.sent).toHaveLength(0);
    vi.advanceTimersByTime(250);
    a.page('Docs', 'Install');
    await vi.advanceTimersByTimeAsync(0);
    expect(net.sent).toHaveLength(1);
    const req = net.sent[0]!;
    expect(req.url).toBe('https://collect.example.com/v1/batch');
    expect(req.headers.Authorization).toBe(`Basic ${btoa(`${KEY}:`)}`);
    expect(req.body.sentAt).toBe('2024-05-01T12:00:00.250Z');
    const [track, identify, page] = req.body.batch;
    for (const e of req.body.batch) expect(checkEvent(e)).toMatchObject({ ok: true });
    expect(track).toMatchObject({ type: 'track', event: 'Order Completed', properties: { total: 10 } });
    expect(track!.timestamp).toBe('2024-05-01T12:00:00.000Z');
    expect(track!.context).toMatchObject({ library: { name: '@sluice/sdk' }, app: { name: 'shop' } });
    expect(identify).toMatchObject({ type: 'identify', userId: 'u1', traits: { plan: 'pro' } });
    expect(page).toMatchObject({ type: 'page', category: 'Docs', name: 'Install', userId: 'u1' });
    expect(track!.anonymousId).toBe(a.user().anonymousId);
  });

  it('sends on the interval when fewer than flushAt events are queued, and honours per-call options', async () => {
    const { a, net } = setup({ flushInterval: 2000 });
    a.track('x', {}, { messageId: 'm-1', timestamp: '2020-01-01T00:00:00.000Z', anonymousId: 'anon-9' });
    await vi.advanceTimersByTimeAsync(1999);
    expect(net.sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(net.events()).toMatchObject([
      { messageId: 'm-1', timestamp: '2020-01-01T00:00:00.000Z', anonymousId: 'anon-9' },
    ]);
  });

  it('drops events over 32 KB with a report instead of poisoning the queue', async () => {
    const { a, net, log } = setup();
    a.track('big', { blob: 'x'.repeat(40_000) });
    await a.flush();
    expect(net.sent).toHaveLength(0);
    expect(log.codes()).toContain(ERR_EVENT_TOO_LARGE);
  });
});

describe('browser SDK: retries', () => {
  it('retries a 503 after the Retry-After delay, not before', async () => {
    const net = fakeFetch([{ status: 503, retryAfter: '5' }]);
    const { a, log } = setup({ flushInterval: 60_000 }, new MemoryStorage(), net);
    a.track('x');
    await a.flush();
    expect(net.sent).toHaveLength(1);
    expect(log.codes()).toContain(ERR_SEND_FAILED);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(net.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(net.sent).toHaveLength(2);
    expect(net.sent[1]!.body.batch[0]!.messageId).toBe(net.sent[0]!.body.batch[0]!.messageId);
    expect(a.stats().queued).toBe(0);
  });

  it('backs off exponentially with jitter on network errors and 429', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    const net = fakeFetch(['network', 429, 'network']);
    const { a } = setup({ flushInterval: 3_600_000, retryBase: 1000 }, new MemoryStorage(), net);
    a.track('x');
    await a.flush();
    const at: number[] = [];
    for (let t = 0; t < 10_000 && net.sent.length < 4; t += 50) {
      await vi.advanceTimersByTimeAsync(50);
      if (net.sent.length > at.length + 1) at.push(t + 50);
    }
    // delays ~1s, ~2s, ~4s (upper edge of the jitter): cumulative ~1000, ~3000, ~7000 ms
    expect(at).toEqual([1000, 3000, 7000]);
    vi.mocked(Math.random).mockRestore();
  });

  it('does not retry other 4xx: the batch is dropped and reported', async () => {
    const net = fakeFetch([400]);
    const { a, log, storage } = setup({}, new MemoryStorage(), net);
    a.track('bad');
    await a.flush();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(net.sent).toHaveLength(1);
    expect(log.seen.find((s) => s.code === ERR_REJECTED)?.detail).toMatchObject({ status: 400 });
    expect(queued(storage)).toHaveLength(0);
  });
});

describe('browser SDK: persistent queue', () => {
  it('is bounded: the oldest events are dropped and counted', async () => {
    const { a, log, storage } = setup({ maxQueue: 3 }, new MemoryStorage(), fakeFetch([], 'network'));
    for (let i = 0; i < 5; i++) a.track(`e${i}`);
    expect(a.stats()).toEqual({ queued: 3, dropped: 2 });
    expect(queued(storage).map((e) => (e as { event: string }).event)).toEqual(['e2', 'e3', 'e4']);
    expect(log.codes()).toContain(ERR_QUEUE_FULL);
  });

  it('survives a reload: the next page adopts the previous page queue and delivers it once', async () => {
    const storage = new MemoryStorage();
    const first = setup({ beacon: () => false }, storage, fakeFetch([], 'network'));
    first.a.track('before reload');
    await first.a.flush();
    const other = setup({}, storage);
    await vi.advanceTimersByTimeAsync(5_000);
    await other.a.flush();
    expect(other.net.sent).toHaveLength(0); // the owner is alive: its queue is not taken
    first.target.dispatchEvent(new Event('pagehide')); // offline: the beacon fails, the event stays stored
    const next = setup({}, storage);
    await vi.advanceTimersByTimeAsync(SETTLE_MS + 1000);
    await Promise.all([next.a.flush(), other.a.flush()]);
    const delivered = [...next.net.events(), ...other.net.events()].map(
      (e) => (e as { event?: string }).event,
    );
    expect(delivered).toEqual(['before reload']);
  });

  it('never throws when storage is unavailable or full; events still go out from memory', async () => {
    const blocked = setup({}, new MemoryStorage(), fakeFetch());
    const b2 = createAnalytics({
      writeKey: KEY,
      host: 'https://c.example',
      fetch: blocked.net.fetch,
      storage: () => {
        throw new DOMException('denied', 'SecurityError');
      },
      logger: blocked.log.logger,
      target: new EventTarget(),
    });
    expect(() => b2.track('x')).not.toThrow();
    await b2.flush();
    expect(blocked.net.events().map((e) => (e as { event?: string }).event)).toContain('x');
    expect(blocked.log.codes()).toContain(ERR_STORAGE);

    const full = new MemoryStorage();
    full.full = true;
    const f = setup({}, full);
    expect(() => f.a.track('y')).not.toThrow();
    await f.a.flush();
    expect(f.net.events()).toHaveLength(1);
    expect(f.log.codes()).toContain(ERR_STORAGE);
  });
});

describe('browser SDK: leaving the page', () => {
  it('flushes by beacon on pagehide within the 64 KB budget, writeKey in the body, rest kept', async () => {
    const net = fakeFetch([], 'network');
    const { a, target, beacons, storage } = setup({ flushInterval: 3_600_000 }, new MemoryStorage(), net);
    for (let i = 0; i < 30; i++) a.track(`e${i}`, { pad: 'p'.repeat(3000) });
    await vi.advanceTimersByTimeAsync(0);
    const before = queued(storage).length;
    target.dispatchEvent(new Event('pagehide'));
    expect(beacons.length).toBeGreaterThan(0);
    let total = 0;
    for (const b of beacons) {
      expect(b.url).toBe('https://collect.example.com/v1/batch');
      expect(JSON.parse(b.body).writeKey).toBe(KEY);
      total += new TextEncoder().encode(b.body).length;
    }
    expect(total).toBeLessThanOrEqual(BEACON_BYTES);
    const sent = beacons.flatMap((b) => JSON.parse(b.body).batch).length;
    expect(sent).toBeGreaterThan(10);
    expect(queued(storage).length).toBe(before - sent);
  });
});

describe('browser SDK: two tabs', () => {
  it('never send the same event twice', async () => {
    const storage = new MemoryStorage();
    const net = fakeFetch();
    const t1 = setup({ flushAt: 2 }, storage, net);
    const t2 = setup({ flushAt: 2 }, storage, net);
    for (let i = 0; i < 10; i++) {
      t1.a.track(`one-${i}`);
      t2.a.track(`two-${i}`);
      await vi.advanceTimersByTimeAsync(300);
    }
    await vi.advanceTimersByTimeAsync(5_000);
    await Promise.all([t1.a.flush(), t2.a.flush()]);
    const ids = net.events().map((e) => e.messageId);
    expect(ids).toHaveLength(20);
    expect(new Set(ids).size).toBe(20);
  });
});

describe('browser SDK: plugins', () => {
  it('enrich, transform and drop in order; a throwing plugin is skipped and reported', async () => {
    const { a, net, log } = setup();
    a.use((e) => ({ ...e, context: { ...e.context, enriched: true } }));
    a.use(() => {
      throw new Error('bad plugin');
    });
    a.use((e) => {
      if (e.type === 'track' && e.event === 'secret') return null;
      if (e.type === 'identify') e.traits = { ...e.traits, email: '[redacted]' };
      return undefined;
    });
    a.track('secret');
    a.track('public');
    a.identify('u', { email: 'a@b.c' });
    await a.flush();
    const events = net.events();
    expect(events.map((e) => e.type)).toEqual(['track', 'identify']);
    expect(events[0]!.context).toMatchObject({ enriched: true });
    expect(events[1]).toMatchObject({ traits: { email: '[redacted]' } });
    expect(log.codes().filter((c) => c === ERR_PLUGIN)).toHaveLength(3);
  });
});

describe('browser SDK: consent and identity', () => {
  it('stores and sends nothing while disabled; works once enabled', async () => {
    const { a, net, storage } = setup({ disabled: true });
    a.identify('u1', { a: 1 });
    a.track('x');
    await a.flush();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(net.sent).toHaveLength(0);
    expect(storage.map.size).toBe(0);
    a.enable();
    a.track('y');
    await a.flush();
    expect(net.events().map((e) => (e as { event?: string }).event)).toEqual(['y']);
    a.disable();
    a.track('z');
    await a.flush();
    expect(net.sent).toHaveLength(1);
    expect(queued(storage)).toHaveLength(0);
  });

  it('persists anonymousId, userId and traits across instances; reset() clears them', () => {
    const storage = new MemoryStorage();
    const first = setup({}, storage).a;
    first.identify('u-42', { plan: 'pro' });
    const anon = first.user().anonymousId;
    const second = setup({}, storage).a;
    expect(second.user()).toEqual({ anonymousId: anon, userId: 'u-42', traits: { plan: 'pro' } });
    second.reset();
    const third = setup({}, storage).a;
    expect(third.user().userId).toBeNull();
    expect(third.user().anonymousId).not.toBe(anon);
  });
});
