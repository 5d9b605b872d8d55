import { gzipSync } from 'node:zlib';
import type { InjectOptions } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, type CollectorApp } from './app.ts';
import { basic, fixedClock, testConfig } from './test-support.ts';
import { InMemoryTransport } from './transports/in-memory.ts';

const NOW = '2024-05-01T12:00:10.000Z';
let current: CollectorApp | undefined;

const auth = { authorization: basic('wk_test') };

function setup(env: Record<string, string> = {}) {
  const transport = new InMemoryTransport();
  current = buildApp(testConfig(env), { transport, clock: fixedClock(NOW) });
  const app = current.app;
  /** POSTs `payload` to `url`, authenticated as `wk_test` unless `options.headers` says otherwise. */
  const post = (
    url: string,
    payload: InjectOptions['payload'],
    options: Pick<InjectOptions, 'headers' | 'remoteAddress'> = {},
  ) => app.inject({ method: 'POST', url, payload, ...options, headers: options.headers ?? auth });
  return { transport, post };
}

afterEach(async () => {
  await current?.app.close();
  current = undefined;
});

const track = {
  type: 'track',
  event: 'Order Completed',
  userId: 'u1',
  messageId: 'm-1',
  properties: { total: 12.5, products: [{ sku: 'a', qty: 2 }] },
  timestamp: '2024-05-01T12:00:00.000Z',
  sentAt: '2024-05-01T12:00:05.000Z',
};

describe('POST /v1/track', () => {
  it('publishes the enriched event and answers 200 only after the transport accepted it', async () => {
    const { post, transport } = setup();
    const res = await post('/v1/track', track, {
      headers: { ...auth, 'content-type': 'application/json' },
      remoteAddress: '203.0.113.7',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ success: true, accepted: 1 });
    expect(transport.messages).toHaveLength(1);
    expect(transport.messages[0]?.attributes).toEqual({ type: 'track', sourceId: 'web' });
    const data = transport.messages[0]?.data ?? '';
    expect(data).not.toContain('\n');
    expect(JSON.parse(data)).toEqual({
      ...track,
      receivedAt: NOW,
      // skew-corrected: receivedAt - (sentAt - timestamp) = 12:00:10 - 5 s
      timestamp: '2024-05-01T12:00:05.000Z',
      originalTimestamp: '2024-05-01T12:00:00.000Z',
      sourceId: 'web',
      context: { ip: '203.0.113.7' },
    });
  });

  it('adds a messageId when missing, and never forwards the write key', async () => {
    const { post, transport } = setup();
    const { messageId: _m, ...noId } = track;
    const res = await post('/v1/track', { ...noId, writeKey: 'wk_test' }, { headers: {} });
    expect(res.statusCode).toBe(200);
    const event = transport.events()[0] ?? {};
    expect(event.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(transport.messages[0]?.data).not.toContain('wk_test');
    expect(event).not.toHaveProperty('writeKey');
  });

  it('answers 401 with a code for missing and unknown keys, publishing nothing', async () => {
    const { post, transport } = setup();
    const missing = await post('/v1/track', track, { headers: {} });
    expect(missing.statusCode).toBe(401);
    expect(missing.json()).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_AUTH_MISSING' });
    const unknown = await post('/v1/track', track, { headers: { authorization: basic('nope') } });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json()).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_AUTH_UNKNOWN' });
    expect(transport.messages).toHaveLength(0);
  });

  it('answers 400 naming the field path for schema errors', async () => {
    const { post, transport } = setup();
    const res = await post('/v1/track', { ...track, event: 42 });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.code).toBe('SLUICE_ERR_PUBLISHER_SCHEMA');
    expect(body.rejected[0].index).toBe(0);
    expect(body.rejected[0].issues.map((i: { path: string }) => i.path)).toContain('/event');
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/);
    expect(transport.messages).toHaveLength(0);
  });

  it('answers 400 for a body that is not JSON', async () => {
    const { post } = setup();
    const res = await post('/v1/track', '{"type": "track", ', {
      headers: { ...auth, 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_BODY_PARSE', retryable: false });
  });

  it('answers 503 with Retry-After when the transport fails, and 503 within the timeout when it hangs', async () => {
    const { post, transport } = setup();
    transport.failWith = new Error('broker down');
    const failed = await post('/v1/track', track);
    expect(failed.statusCode).toBe(503);
    expect(failed.headers['retry-after']).toBe('5');
    expect(failed.json()).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_PUBLISH_FAILED', retryable: true });
    expect(failed.body).not.toContain('broker down');

    transport.failWith = undefined;
    transport.delayMs = 1500;
    const started = Date.now();
    const slow = await post('/v1/track', track);
    expect(slow.statusCode).toBe(503);
    expect(slow.json()).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_PUBLISH_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('POST /v1/batch', () => {
  it('publishes every event with batch-level context, integrations and sentAt applied', async () => {
    const { post, transport } = setup();
    const res = await post('/v1/batch', {
      batch: [
        { type: 'identify', userId: 'u1', traits: { plan: 'pro' }, timestamp: '2024-05-01T12:00:00.000Z' },
        { type: 'page', anonymousId: 'a1', name: 'Home', context: { page: { path: '/' } } },
      ],
      context: { library: { name: 'analytics-node', version: '3' } },
      integrations: { All: true },
      sentAt: '2024-05-01T12:00:02.000Z',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ success: true, accepted: 2 });
    const [identify, page] = transport.events();
    expect(identify).toMatchObject({
      type: 'identify',
      timestamp: '2024-05-01T12:00:08.000Z',
      originalTimestamp: '2024-05-01T12:00:00.000Z',
      sentAt: '2024-05-01T12:00:02.000Z',
      integrations: { All: true },
      context: { library: { name: 'analytics-node', version: '3' } },
    });
    expect(page).toMatchObject({
      timestamp: NOW,
      context: { page: { path: '/' }, library: { name: 'analytics-node', version: '3' } },
    });
    expect(page).not.toHaveProperty('originalTimestamp');
  });

  it('accepts gzip-encoded bodies (Segment Node client)', async () => {
    const { post, transport } = setup();
    const res = await post(
      '/v1/batch',
      gzipSync(JSON.stringify({ batch: [track, { ...track, messageId: 'm-2' }] })),
      {
        headers: { ...auth, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      },
    );
    expect(res.statusCode).toBe(200);
    expect(transport.events().map((e) => e.messageId)).toEqual(['m-1', 'm-2']);
  });
});
