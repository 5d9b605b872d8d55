import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, type CollectorApp } from './app.ts';
import { basic, fixedClock, testConfig } from './test-support.ts';
import { InMemoryTransport } from './transports/in-memory.ts';

const NOW = '2024-05-01T12:00:10.000Z';
let current: CollectorApp | undefined;

function setup(env: Record<string, string> = {}) {
  const transport = new InMemoryTransport();
  const clock = fixedClock(NOW);
  current = buildApp(testConfig(env), { transport, clock });
  return { app: current.app, transport, clock, gate: current.gate, metrics: current.metrics };
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
    const { app, transport } = setup();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { authorization: basic('wk_test'), 'content-type': 'application/json' },
      payload: track,
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
    const { app, transport } = setup();
    const { messageId: _m, ...noId } = track;
    const res = await app.inject({
      method: 'POST',
      url: '/v1/track',
      payload: { ...noId, writeKey: 'wk_test' },
    });
    expect(res.statusCode).toBe(200);
    const event = transport.events()[0] ?? {};
    expect(event.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(transport.messages[0]?.data).not.toContain('wk_test');
    expect(event).not.toHaveProperty('writeKey');
  });

  it('answers 401 with a code for missing and unknown keys, publishing nothing', async () => {
    const { app, transport } = setup();
    const missing = await app.inject({ method: 'POST', url: '/v1/track', payload: track });
    expect(missing.statusCode).toBe(401);
    expect(missing.json()).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_AUTH_MISSING' });
    const unknown = await app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { authorization: basic('nope') },
      payload: track,
    });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json()).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_AUTH_UNKNOWN' });
    expect(transport.messages).toHaveLength(0);
  });

  it('answers 400 naming the field path for schema errors', async () => {
    const { app, transport } = setup();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { authorization: basic('wk_test') },
      payload: { ...track, event: 42 },
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.code).toBe('SLUICE_ERR_PUBLISHER_SCHEMA');
    expect(body.rejected[0].index).toBe(0);
    expect(body.rejected[0].issues.map((i: { path: string }) => i.path)).toContain('/event');
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/);
    expect(transport.messages).toHaveLength(0);
  });

  it('answers 400 for a body that is not JSON', async () => {
    const { app } = setup();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { authorization: basic('wk_test'), 'content-type': 'application/json' },
      payload: '{"type": "track", ',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_BODY_PARSE', retryable: false });
  });

  it('answers 503 with Retry-After when the transport fails, and 503 within the timeout when it hangs', async () => {
    const { app, transport } = setup();
    transport.failWith = new Error('broker down');
    const failed = await app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { authorization: basic('wk_test') },
      payload: track,
    });
    expect(failed.statusCode).toBe(503);
    expect(failed.headers['retry-after']).toBe('5');
    expect(failed.json()).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_PUBLISH_FAILED', retryable: true });
    expect(failed.body).not.toContain('broker down');

    transport.failWith = undefined;
    transport.delayMs = 1500;
    const started = Date.now();
    const slow = await app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { authorization: basic('wk_test') },
      payload: track,
    });
    expect(slow.statusCode).toBe(503);
    expect(slow.json()).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_PUBLISH_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('POST /v1/batch', () => {
  it('publishes every event with batch-level context, integrations and sentAt applied', async () => {
    const { app, transport } = setup();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: { authorization: basic('wk_test') },
      payload: {
        batch: [
          { type: 'identify', userId: 'u1', traits: { plan: 'pro' }, timestamp: '2024-05-01T12:00:00.000Z' },
          { type: 'page', anonymousId: 'a1', name: 'Home', context: { page: { path: '/' } } },
        ],
        context: { library: { name: 'analytics-node', version: '3' } },
        integrations: { All: true },
        sentAt: '2024-05-01T12:00:02.000Z',
      },
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
    const { app, transport } = setup();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: {
        authorization: basic('wk_test'),
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      },
      payload: gzipSync(JSON.stringify({ batch: [track, { ...track, messageId: 'm-2' }] })),
    });
    expect(res.statusCode).toBe(200);
    expect(transport.events().map((e) => e.messageId)).toEqual(['m-1', 'm-2']);
  });
});
