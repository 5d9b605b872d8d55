import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, type CollectorApp } from './app.ts';
import { basic, fixedClock, testConfig } from './test-support.ts';
import { InMemoryTransport } from './transports/in-memory.ts';

let current: CollectorApp | undefined;
function setup(env: Record<string, string> = {}) {
  const transport = new InMemoryTransport();
  const clock = fixedClock('2024-05-01T12:00:00.000Z');
  current = buildApp(testConfig(env), { transport, clock });
  return { app: current.app, transport, clock };
}
afterEach(async () => {
  await current?.app.close();
  current = undefined;
});
const auth = { authorization: basic('wk_test') };
const ev = (i: number) => ({ type: 'track', event: 'Viewed', anonymousId: `a${i}`, messageId: `m${i}` });

describe('short text/plain paths (analytics.js)', () => {
  it.each([
    ['t', 'track', { event: 'Clicked' }],
    ['i', 'identify', { traits: { plan: 'pro' } }],
    ['p', 'page', { name: 'Home' }],
    ['s', 'screen', { name: 'Home' }],
    ['g', 'group', { groupId: 'g1' }],
    ['a', 'alias', { userId: 'u2', previousId: 'a1' }],
  ])('/v1/%s publishes a %s with the write key taken from the body', async (short, type, fields) => {
    const { app, transport } = setup();
    const res = await app.inject({
      method: 'POST',
      url: `/v1/${short}`,
      headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify({ anonymousId: 'a1', writeKey: 'wk_test', ...fields }),
    });
    expect(res.statusCode).toBe(200);
    expect(transport.messages[0]?.attributes).toEqual({ type, sourceId: 'web' });
  });
});

describe('partial batches', () => {
  it('publishes the valid events and answers 400 listing every rejected index with its field paths', async () => {
    const { app, transport } = setup();
    const batch = [ev(0), { ...ev(1), event: '' }, ev(2), { type: 'track', event: 'x' }, { type: 'nope' }];
    const res = await app.inject({ method: 'POST', url: '/v1/batch', headers: auth, payload: { batch } });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_BATCH_PARTIAL', accepted: 2, retryable: false });
    expect(body.rejected.map((r: { index: number }) => r.index)).toEqual([1, 3, 4]);
    expect(body.rejected[0].issues[0].path).toBe('/event');
    expect(body.rejected[1].issues[0].path).toBe('/userId');
    expect(body.rejected[2].issues[0].path).toBe('/type');
    expect(transport.events().map((e) => e.messageId)).toEqual(['m0', 'm2']);
  });

  it('answers 400 SCHEMA (nothing accepted) when every event is invalid, and for a bad envelope', async () => {
    const { app, transport } = setup();
    const none = await app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: auth,
      payload: { batch: [{ type: 'track' }] },
    });
    expect(none.json()).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_SCHEMA', accepted: 0 });
    const envelope = await app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: auth,
      payload: { batch: 'x' },
    });
    expect(envelope.statusCode).toBe(400);
    expect(envelope.json()).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_BATCH_SCHEMA' });
    expect(transport.messages).toHaveLength(0);
  });

  it('publishes nothing and answers 503 when the broker fails: the client retries the whole batch', async () => {
    const { app, transport } = setup();
    transport.failWith = new Error('down');
    const res = await app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: auth,
      payload: { batch: [ev(0), { type: 'bad' }] },
    });
    expect(res.statusCode).toBe(503);
    expect(transport.messages).toHaveLength(0);
  });
});

describe('size limits', () => {
  it('413 for an event over 32 KB, and for a batch over 500 KB', async () => {
    const { app, transport } = setup();
    const big = { ...ev(0), properties: { blob: 'x'.repeat(33 * 1024) } };
    const one = await app.inject({ method: 'POST', url: '/v1/track', headers: auth, payload: big });
    expect(one.statusCode).toBe(413);
    expect(one.json()).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_EVENT_TOO_LARGE' });
    const inBatch = await app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: auth,
      payload: { batch: [ev(1), big] },
    });
    expect(inBatch.statusCode).toBe(400);
    expect(inBatch.json().rejected).toEqual([
      expect.objectContaining({ index: 1, code: 'SLUICE_ERR_PUBLISHER_EVENT_TOO_LARGE' }),
    ]);
    const batch = Array.from({ length: 20 }, (_, i) => ({
      ...ev(i),
      properties: { blob: 'x'.repeat(30 * 1024) },
    }));
    const huge = await app.inject({ method: 'POST', url: '/v1/batch', headers: auth, payload: { batch } });
    expect(huge.statusCode).toBe(413);
    expect(huge.json()).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_BATCH_TOO_LARGE' });
    expect(transport.events().map((e) => e.messageId)).toEqual(['m1']);
  });
});

describe('CORS', () => {
  const env = { SLUICE_ALLOWED_ORIGINS: 'web=https://shop.example|https://www.shop.example,app=*' };
  it('answers preflights for allowed origins and refuses other origins for the key', async () => {
    const { app, transport } = setup(env);
    const pre = await app.inject({
      method: 'OPTIONS',
      url: '/v1/t',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization',
      },
    });
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('https://shop.example');
    expect(pre.headers['access-control-allow-headers']).toBe('content-type,authorization');
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { ...auth, origin: 'https://shop.example' },
      payload: ev(0),
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe('https://shop.example');
    const evil = await app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { ...auth, origin: 'https://evil.example' },
      payload: ev(1),
    });
    expect(evil.statusCode).toBe(403);
    expect(evil.json()).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_ORIGIN_NOT_ALLOWED' });
    expect(transport.messages).toHaveLength(1);
  });
});

describe('rate limits', () => {
  it('per key: 429 with Retry-After once the bucket is empty, refilled with time', async () => {
    const { app, clock } = setup({ SLUICE_RATE_LIMIT_KEY_EPS: '2', SLUICE_RATE_LIMIT_KEY_BURST: '3' });
    const send = () => app.inject({ method: 'POST', url: '/v1/track', headers: auth, payload: ev(0) });
    expect((await send()).statusCode).toBe(200);
    expect((await send()).statusCode).toBe(200);
    expect((await send()).statusCode).toBe(200);
    const limited = await send();
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('1');
    expect(limited.json()).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_RATE_LIMITED' });
    const other = await app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { authorization: basic('wk_other') },
      payload: ev(1),
    });
    expect(other.statusCode).toBe(200);
    clock.set('2024-05-01T12:00:01.000Z');
    expect((await send()).statusCode).toBe(200);
  });

  it('per IP: 429 before parsing, keyed by client address', async () => {
    const { app } = setup({ SLUICE_RATE_LIMIT_IP_RPS: '1' });
    const send = (ip: string) =>
      app.inject({ method: 'POST', url: '/v1/track', headers: auth, payload: ev(0), remoteAddress: ip });
    expect((await send('198.51.100.1')).statusCode).toBe(200);
    expect((await send('198.51.100.1')).statusCode).toBe(429);
    expect((await send('198.51.100.2')).statusCode).toBe(200);
  });
});

describe('client address', () => {
  it('takes context.ip from X-Forwarded-For only when the proxy is trusted, and anonymizes on request', async () => {
    const untrusted = setup();
    await untrusted.app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { ...auth, 'x-forwarded-for': '203.0.113.9' },
      payload: ev(0),
      remoteAddress: '10.0.0.1',
    });
    expect(untrusted.transport.events()[0]?.context).toEqual({ ip: '10.0.0.1' });
    await untrusted.app.close();

    const trusted = setup({ SLUICE_TRUST_PROXY: '10.0.0.0/8', SLUICE_ANONYMIZE_IP: 'true' });
    await trusted.app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { ...auth, 'x-forwarded-for': '203.0.113.9' },
      payload: ev(0),
      remoteAddress: '10.0.0.1',
    });
    expect(trusted.transport.events()[0]?.context).toEqual({ ip: '203.0.113.0' });
  });
});

describe('service routes', () => {
  it('serves analytics.js settings pointing the Segment.io integration at the collector', async () => {
    const { app } = setup();
    const res = await app.inject({
      method: 'GET',
      url: '/v1/projects/wk_test/settings',
      headers: { host: 'collector.local:8080' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().integrations['Segment.io']).toMatchObject({
      apiKey: 'wk_test',
      apiHost: 'collector.local:8080/v1',
      protocol: 'http',
    });
    const unknown = await app.inject({ method: 'GET', url: '/v1/projects/nope/settings' });
    expect(unknown.statusCode).toBe(401);
  });

  it('healthz, readyz follows the transport, metrics counts requests, events and rejects', async () => {
    const { app, transport } = setup();
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    transport.isReady = false;
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    await app.inject({ method: 'POST', url: '/v1/track', headers: auth, payload: ev(0) });
    await app.inject({ method: 'POST', url: '/v1/track', payload: ev(0) });
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toContain('sluice_events_accepted_total{type="track"} 1');
    expect(text).toContain('sluice_events_rejected_total{code="SLUICE_ERR_PUBLISHER_AUTH_MISSING"} 1');
    expect(text).toContain('sluice_http_requests_total{route="/v1/track",status="200"} 1');
    expect(text).toContain('sluice_publish_duration_seconds_count 1');
    expect(text).toContain('sluice_inflight_bytes 0');
  });

  it('unknown routes get a coded 404', async () => {
    const { app } = setup();
    const res = await app.inject({ method: 'GET', url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_NOT_FOUND' });
  });
});

describe('flow control', () => {
  it('answers 503 OVERLOADED when unacknowledged bytes exceed the bound', async () => {
    const { app, transport } = setup({
      SLUICE_MAX_INFLIGHT_BYTES: '1024',
      SLUICE_PUBLISH_TIMEOUT_MS: '2000',
    });
    transport.delayMs = 300;
    const first = app.inject({ method: 'POST', url: '/v1/track', headers: auth, payload: ev(0) });
    const batch = Array.from({ length: 10 }, (_, i) => ev(i));
    await new Promise((r) => setTimeout(r, 50));
    const second = await app.inject({ method: 'POST', url: '/v1/batch', headers: auth, payload: { batch } });
    expect(second.statusCode).toBe(503);
    expect(second.json()).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_OVERLOADED' });
    expect((await first).statusCode).toBe(200);
  });
});
