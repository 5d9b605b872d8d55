// RudderStack's JS SDK v3 (@rudderstack/analytics-js, its bundled build: plugins inside, nothing from the CDN) in
// Chromium, loaded with `configUrl` and the data plane pointed at the collector: it fetches
// GET /sourceConfig/?writeKey=..., then sends anonymous page views, an identify, a track, reset() and more page
// views through its XHR queue (Basic auth, CORS preflight), and through its beacon queue
// (POST /beacon/v1/batch?writeKey=..., sendBeacon). Asserted on what the collector published.
import type { Server } from 'node:http';
import { buildApp, type CollectorApp, InMemoryTransport, loadConfig } from '@sluice/publisher';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle, confineToLoopback, serveSite, until } from './browser-site.ts';
import { launchChromium } from './chromium.ts';
import { loadPublished } from './load-published.ts';

const KEY = 'wk_rudder_browser';
let collector: CollectorApp;
let transport: InMemoryTransport;
let collectorUrl: string;
let site: { url: string; server: Server };
let browser: Browser | undefined;

beforeAll(async () => {
  const script = await bundle(
    "import { RudderAnalytics } from '@rudderstack/analytics-js/bundled'; window.RudderAnalytics = RudderAnalytics;",
  );
  site = await serveSite(script);
  transport = new InMemoryTransport();
  collector = buildApp(
    loadConfig({ SLUICE_WRITE_KEYS: `${KEY}=rudder-web`, SLUICE_ALLOWED_ORIGINS: `rudder-web=${site.url}` }),
    { transport },
  );
  refused = refusals();
  collectorUrl = await collector.app.listen({ host: '127.0.0.1', port: 0 });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await collector?.app.close();
  site?.server.close();
});

/** The collector's refusals, as the collector saw them (status, code and message of each 4xx/5xx). */
function refusals(): string[] {
  const seen: string[] = [];
  collector.app.addHook('onSend', (request, reply, payload, done) => {
    if (reply.statusCode >= 400)
      seen.push(`${request.method} ${request.url.split('?')[0]} ${reply.statusCode} ${String(payload)}`);
    done(null, payload);
  });
  return seen;
}
let refused: string[] = [];

interface Rudder {
  load(writeKey: string, dataPlaneUrl: string, options: Record<string, unknown>): void;
  ready(cb: () => void): void;
  page(category?: string, name?: string, properties?: Record<string, unknown>): void;
  identify(userId: string, traits: Record<string, unknown>): void;
  track(event: string, properties: Record<string, unknown>): void;
  reset(): void;
}

async function run(
  options: Record<string, unknown>,
  marker: string,
): Promise<{ outside: string[]; errors: string[] }> {
  refused.length = 0;
  const page = await browser!.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  const outside = await confineToLoopback(page);
  await page.goto(site.url);
  await page.evaluate(
    async ({ key, dataPlane, options, marker }) => {
      const w = window as unknown as { RudderAnalytics: new () => Rudder };
      const ra = new w.RudderAnalytics();
      ra.load(key, dataPlane, { ...options, configUrl: dataPlane, logLevel: 'ERROR' });
      await new Promise<void>((resolve) => ra.ready(resolve));
      ra.page('Shop', 'Home', { marker });
      ra.page('Shop', 'Pricing', { marker });
      ra.identify('user-42', { plan: 'pro', email: 'user42@example.com', marker });
      ra.track('Plan Chosen', { plan: 'pro', marker });
      ra.reset();
      ra.page('Shop', 'After Reset', { marker });
    },
    { key: KEY, dataPlane: collectorUrl, options, marker },
  );
  await until(`${marker}: five events`, () => mine(marker).length >= 5).catch(() => undefined);
  // The beacon queue sends on page hide; closing the page hides it.
  await page.close({ runBeforeUnload: true });
  return { outside, errors };
}

const mine = (marker: string) =>
  transport
    .events()
    .filter(
      (e) =>
        (e.properties as { marker?: string } | undefined)?.marker === marker ||
        (e.context as { traits?: { marker?: string } } | undefined)?.traits?.marker === marker,
    );

function expectSession(marker: string): void {
  // The XHR queue sends events concurrently: the collector may publish them in any order.
  const label = (e: Record<string, unknown>) => `${e.type}:${e.name ?? e.event ?? ''}`;
  const events = mine(marker);
  expect(events.map(label).sort()).toEqual(
    ['identify:', 'page:After Reset', 'page:Home', 'page:Pricing', 'track:Plan Chosen'].sort(),
  );
  const byLabel = (l: string) => events.find((e) => label(e) === l);
  const [home, pricing, identify, track, afterReset] = [
    'page:Home',
    'page:Pricing',
    'identify:',
    'track:Plan Chosen',
    'page:After Reset',
  ].map(byLabel);
  const anon = home?.anonymousId;
  expect(anon).toEqual(expect.any(String));
  // Anonymous page views: no user id (RudderStack sends "userId": "", which must not be stored as a user).
  for (const e of [home, pricing]) {
    expect(e?.anonymousId).toBe(anon);
    expect(e?.userId ?? '').toBe('');
    expect(e).toMatchObject({
      sourceId: 'rudder-web',
      context: { ip: '127.0.0.1', library: { name: 'RudderLabs JavaScript SDK' } },
    });
  }
  expect(identify).toMatchObject({
    userId: 'user-42',
    anonymousId: anon,
    context: { traits: { plan: 'pro', email: 'user42@example.com' } },
  });
  expect(track).toMatchObject({ userId: 'user-42', event: 'Plan Chosen', properties: { plan: 'pro' } });
  // reset() forgets the user and its traits; RudderStack keeps the anonymous id unless asked (reset(true)).
  expect(afterReset?.userId ?? '').toBe('');
  expect(afterReset?.anonymousId).toBe(anon);
  expect((afterReset?.context as { traits?: Record<string, unknown> } | undefined)?.traits ?? {}).toEqual({});
  for (const e of events) expect(e).not.toHaveProperty('writeKey');
}

describe('@rudderstack/analytics-js in Chromium', () => {
  it('loads its source config from the collector and delivers anonymous pages, identify, track and reset (XHR)', async () => {
    const { outside, errors } = await run({}, 'xhr');
    expect(outside).toEqual([]);
    const metrics = (await collector.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('route="/sourceConfig",status="200"');
    expect(refused).toEqual([]);
    expectSession('xhr');
    expect(errors).toEqual([]);
  }, 90_000);

  it('delivers the same through its beacon queue (POST /beacon/v1/batch?writeKey=)', async () => {
    const { outside } = await run({ useBeacon: true, beaconQueueOptions: { maxItems: 1 } }, 'beacon');
    await until('beacon events', () => mine('beacon').length >= 5).catch(() => undefined);
    expect(outside).toEqual([]);
    const metrics = (await collector.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('route="/beacon/v1/batch",status="200"');
    expect(refused).toEqual([]);
    expectSession('beacon');
  }, 90_000);

  it('what both queues published lands in the warehouse: anonymous pages without a user, identify traits in users', async () => {
    const published = transport.messages.map((m) => m.data);
    expect(published.length).toBeGreaterThanOrEqual(10);
    const wh = await loadPublished(published);
    try {
      const [loads] = await wh.query('SELECT lines_read, events_loaded, failed FROM _sluice_loads');
      expect(loads).toMatchObject({ lines_read: String(published.length), failed: '0' });
      const pages = await wh.query(
        "SELECT name, user_id, anonymous_id FROM pages WHERE name IN ('Home', 'Pricing') ORDER BY name",
      );
      expect(pages).toHaveLength(4); // two sessions (xhr, beacon), two anonymous page views each
      for (const p of pages) {
        expect(p.user_id).toBeNull(); // RudderStack's "userId": "" is absent, not a user
        expect(p.anonymous_id).toEqual(expect.any(String));
      }
      // RudderStack sends identify traits in context.traits: they reach users (issue 14, item 5).
      expect(await wh.query("SELECT id, plan, email FROM users WHERE id = 'user-42'")).toEqual([
        { id: 'user-42', plan: 'pro', email: 'user42@example.com' },
      ]);
      const [after] = await wh.query(
        "SELECT count(*) AS n FROM pages WHERE name = 'After Reset' AND user_id IS NULL",
      );
      expect(after).toEqual({ n: '2' });
    } finally {
      await wh.remove();
    }
  }, 180_000);
});
