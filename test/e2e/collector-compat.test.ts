// Official client libraries, unchanged, pointed at an in-process collector: every event reaches the transport
// enriched as the Pub/Sub contract says (seam 3). The lead's pipeline test checks they land in the warehouse.

import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import { buildApp, type CollectorApp, InMemoryTransport, loadConfig } from '@sluice/publisher';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let collector: CollectorApp;
let transport: InMemoryTransport;
let url: string;

async function waitFor(check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  transport = new InMemoryTransport();
  collector = buildApp(loadConfig({ SLUICE_WRITE_KEYS: 'wk_segment=segment-node,wk_rudder=rudder-node' }), {
    transport,
  });
  url = await collector.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await collector.app.close();
});

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('@segment/analytics-node', () => {
  it('delivers track, identify, page, screen, group and alias with exact enriched payloads', async () => {
    const analytics = new SegmentAnalytics({ writeKey: 'wk_segment', host: url, flushAt: 6, maxRetries: 0 });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    const at = new Date('2024-05-01T12:00:00.000Z');
    analytics.track({
      userId: 'u1',
      event: 'Order Completed',
      properties: { total: 30, products: [{ sku: 'a', price: 10 }], campaign: { source: 'news' } },
      timestamp: at,
      messageId: 'seg-track-1',
    });
    analytics.identify({ userId: 'u1', traits: { plan: 'pro', email: 'u1@example.com' } });
    analytics.page({ anonymousId: 'anon-1', name: 'Home', properties: { path: '/' } });
    analytics.screen({ userId: 'u1', name: 'Settings' });
    analytics.group({ userId: 'u1', groupId: 'org-1', traits: { name: 'Acme' } });
    analytics.alias({ userId: 'u1', previousId: 'anon-1' });
    await analytics.closeAndFlush({ timeout: 10_000 });
    expect(errors).toEqual([]);
    const events = transport.events().filter((e) => e.sourceId === 'segment-node');
    expect(events.map((e) => e.type)).toEqual(['track', 'identify', 'page', 'screen', 'group', 'alias']);
    const track = events[0] ?? {};
    expect(track).toMatchObject({
      type: 'track',
      event: 'Order Completed',
      userId: 'u1',
      messageId: 'seg-track-1',
      properties: { total: 30, products: [{ sku: 'a', price: 10 }], campaign: { source: 'news' } },
      originalTimestamp: '2024-05-01T12:00:00.000Z',
      sourceId: 'segment-node',
      context: { library: { name: '@segment/analytics-node' }, ip: '127.0.0.1' },
    });
    expect(track.receivedAt).toMatch(ISO);
    expect(track.timestamp).toMatch(ISO);
    expect(track).not.toHaveProperty('writeKey');
    for (const m of transport.messages.filter((x) => x.attributes.sourceId === 'segment-node')) {
      expect(Object.keys(m.attributes).sort()).toEqual(['sourceId', 'type']);
    }
    expect(events[5]).toMatchObject({ type: 'alias', userId: 'u1', previousId: 'anon-1' });
  });

  it('surfaces a rejected event as an error instead of pretending success', async () => {
    const analytics = new SegmentAnalytics({ writeKey: 'wrong-key', host: url, flushAt: 1, maxRetries: 0 });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    analytics.track({ userId: 'u1', event: 'Nope' });
    await analytics.closeAndFlush({ timeout: 10_000 });
    expect(errors.length).toBeGreaterThan(0);
    expect(transport.events().some((e) => e.event === 'Nope')).toBe(false);
  });
});

describe('@rudderstack/rudder-sdk-node', () => {
  it('delivers all six types through /v1/batch (gzip-compressed by default) with exact enriched payloads', async () => {
    const client = new RudderAnalytics('wk_rudder', { dataPlaneUrl: url, flushAt: 6, flushInterval: 200 });
    client.track({ userId: 'u2', event: 'Product Viewed', properties: { sku: 'b', tags: ['x', 'y'] } });
    client.identify({ userId: 'u2', traits: { plan: 'free' } });
    client.page({ anonymousId: 'anon-2', name: 'Pricing', properties: { path: '/pricing' } });
    client.screen({ userId: 'u2', name: 'Home' });
    client.group({ userId: 'u2', groupId: 'org-2', traits: { size: 10 } });
    client.alias({ userId: 'u2', previousId: 'anon-2' });
    await client.flush();
    await waitFor(() => transport.events().filter((e) => e.sourceId === 'rudder-node').length >= 6);
    const events = transport.events().filter((e) => e.sourceId === 'rudder-node');
    expect(events.map((e) => e.type).sort()).toEqual([
      'alias',
      'group',
      'identify',
      'page',
      'screen',
      'track',
    ]);
    const track = events.find((e) => e.type === 'track') ?? {};
    expect(track).toMatchObject({
      event: 'Product Viewed',
      userId: 'u2',
      properties: { sku: 'b', tags: ['x', 'y'] },
      sourceId: 'rudder-node',
      context: { ip: '127.0.0.1' },
    });
    expect(track.messageId).toEqual(expect.any(String));
    expect(track.originalTimestamp).toMatch(/^\d{4}-/);
    expect(track.timestamp).toMatch(ISO);
    expect(track.receivedAt).toMatch(ISO);
    expect(track).not.toHaveProperty('writeKey');
  });
});
