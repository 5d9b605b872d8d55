import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeLogger } from '../../test/fakes.ts';
import type { Outcome } from '../core/retry.ts';
import { ERR_CLOSE_TIMEOUT, ERR_INVALID_CALL, ERR_REJECTED, ERR_RETRIES_EXHAUSTED } from '../errors.ts';
import { checkEvent } from '../protocol/check.ts';
import type { SluiceEvent } from '../protocol/messages.ts';
import { createNodeAnalytics } from './analytics.ts';
import type { Transport } from './transport.ts';

/** A transport answering from a script; `hold` keeps requests pending until released. */
function scripted(replies: Outcome[] = []) {
  const calls: SluiceEvent[][] = [];
  const pending: (() => void)[] = [];
  let held = false;
  const t: Transport = {
    async send(batch) {
      calls.push(batch);
      if (held) await new Promise<void>((r) => pending.push(r));
      return replies.shift() ?? { ok: true };
    },
  };
  return {
    t,
    calls,
    hold: () => {
      held = true;
    },
    release: () => {
      held = false;
      for (const r of pending.splice(0)) r();
    },
  };
}

const fail503 = (after?: number): Outcome => ({ ok: false, retry: true, status: 503, after });

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2024-05-01T12:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('node SDK', () => {
  it('requires userId or anonymousId per call and reports instead of throwing', async () => {
    const s = scripted();
    const log = fakeLogger();
    const a = createNodeAnalytics({ transport: s.t, logger: log.logger });
    expect(() => a.track('no identity')).not.toThrow();
    a.track('ok', { n: 1 }, { userId: 'u1' });
    a.identify('u2', { plan: 'pro' });
    a.page('Docs', { path: '/' }, { anonymousId: 'a1' });
    a.group('g1', {}, { userId: 'u1' });
    a.alias('u3', 'a1');
    await a.flush();
    expect(log.codes()).toEqual([ERR_INVALID_CALL]);
    const events = s.calls.flat();
    expect(events.map((e) => e.type)).toEqual(['track', 'identify', 'page', 'group', 'alias']);
    for (const e of events) expect(checkEvent(e)).toMatchObject({ ok: true });
  });

  it('gzips batches to /v1/batch with Basic auth (HTTP transport)', async () => {
    const seen: { headers: Headers; body: unknown }[] = [];
    const fetchFake = (async (_url: RequestInfo | URL, init?: RequestInit) => {
      seen.push({
        headers: new Headers(init?.headers),
        body: JSON.parse(gunzipSync(init?.body as Buffer).toString()),
      });
      return new Response(null, { status: 200 });
    }) as typeof fetch;
    const a = createNodeAnalytics({ writeKey: 'k', host: 'http://c.example', fetch: fetchFake });
    a.track('x', {}, { userId: 'u' });
    await a.flush();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers.get('content-encoding')).toBe('gzip');
    expect(seen[0]!.headers.get('authorization')).toBe(`Basic ${btoa('k:')}`);
    expect(seen[0]!.body).toMatchObject({
      batch: [{ type: 'track', event: 'x' }],
      sentAt: expect.any(String),
    });
  });

  it('batches by count', async () => {
    const s = scripted();
    const a = createNodeAnalytics({ transport: s.t, flushAt: 2 });
    for (let i = 0; i < 5; i++) a.track(`e${i}`, {}, { userId: 'u' });
    expect(s.calls.map((b) => b.length)).toEqual([2, 2]);
    await a.flush();
    expect(s.calls.map((b) => b.length)).toEqual([2, 2, 1]);
  });

  it('cuts batches at 500 KB of request body, keeping order', async () => {
    const s = scripted();
    const a = createNodeAnalytics({ transport: s.t, flushAt: 100 });
    const pad = 'x'.repeat(30 * 1024);
    for (let i = 0; i < 40; i++) a.track(`e${i}`, { pad }, { userId: 'u' });
    await a.flush();
    const size = (batch: SluiceEvent[]): number =>
      Buffer.byteLength(JSON.stringify({ batch, sentAt: new Date().toISOString() }));
    expect(s.calls.length).toBeGreaterThan(1);
    for (const [i, batch] of s.calls.entries()) {
      expect(size(batch)).toBeLessThanOrEqual(500 * 1024);
      // as full as the limit allows: the next batch's first event would not have fitted
      const next = s.calls[i + 1];
      if (next) expect(size([...batch, next[0]!])).toBeGreaterThan(500 * 1024);
    }
    expect(s.calls.flat().map((e) => (e as { event: string }).event)).toEqual(
      Array.from({ length: 40 }, (_, i) => `e${i}`),
    );
  });

  it('retries 5xx with Retry-After, does not retry 4xx', async () => {
    const s = scripted([fail503(3000), { ok: false, retry: false, status: 400 }]);
    const log = fakeLogger();
    const a = createNodeAnalytics({ transport: s.t, logger: log.logger, flushAt: 1 });
    a.track('x', {}, { userId: 'u' });
    await vi.advanceTimersByTimeAsync(2999);
    expect(s.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.calls).toHaveLength(2);
    await a.flush();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(s.calls).toHaveLength(2);
    expect(log.codes()).toContain(ERR_REJECTED);
  });

  it('gives up after maxRetries and reports', async () => {
    const s = scripted(Array.from({ length: 10 }, () => fail503()));
    const log = fakeLogger();
    const a = createNodeAnalytics({ transport: s.t, logger: log.logger, maxRetries: 3, retryBase: 10 });
    a.track('x', {}, { userId: 'u' });
    const done = a.flush();
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    expect(s.calls).toHaveLength(3);
    expect(log.codes()).toContain(ERR_RETRIES_EXHAUSTED);
  });

  it('flush() resolves only when every in-flight request has settled', async () => {
    const s = scripted();
    const a = createNodeAnalytics({ transport: s.t, flushAt: 1 });
    s.hold();
    a.track('a', {}, { userId: 'u' });
    a.track('b', {}, { userId: 'u' });
    let settled = false;
    const p = a.flush().then(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(100);
    expect(settled).toBe(false);
    expect(a.stats().inFlight).toBe(2);
    s.release();
    await p;
    expect(settled).toBe(true);
    expect(a.stats().inFlight).toBe(0);
  });

  it('closeAndFlush waits for retries to succeed, and resolves by the timeout when they cannot', async () => {
    const ok = scripted([fail503(500)]);
    const a = createNodeAnalytics({ transport: ok.t });
    a.track('x', {}, { userId: 'u' });
    const closing = a.closeAndFlush({ timeout: 5000 });
    await vi.advanceTimersByTimeAsync(600);
    await closing;
    expect(ok.calls).toHaveLength(2);

    const down = scripted(Array.from({ length: 50 }, () => fail503(1000)));
    const log = fakeLogger();
    const b = createNodeAnalytics({ transport: down.t, logger: log.logger });
    b.track('y', {}, { userId: 'u' });
    let done = false;
    const closing2 = b.closeAndFlush({ timeout: 2500 }).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(2499);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await closing2;
    expect(log.codes()).toContain(ERR_CLOSE_TIMEOUT);
    b.track('after close', {}, { userId: 'u' });
    expect(log.seen.at(-1)).toMatchObject({ code: ERR_INVALID_CALL });
  });
});
