// Jitsu's browser client (@jitsu/js, bundled from node_modules) in Chromium, its host pointed at the collector:
// it posts Segment-shaped events to /api/s/{page,identify,track,group} as JSON with the key in X-Write-Key
// (CORS preflight included). Anonymous page views, identify, track, group, reset and another page view all land;
// asserted on what the collector published.
import type { Server } from 'node:http';
import { buildApp, type CollectorApp, InMemoryTransport, loadConfig } from '@sluice/publisher';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle, confineToLoopback, serveSite, until } from './browser-site.ts';
import { launchChromium } from './chromium.ts';
import { loadPublished } from './load-published.ts';

// Jitsu's client refuses keys that are not `id:secret` ("legacy write key").
const KEY = 'jk_browser:s3cr3t';
let collector: CollectorApp;
let transport: InMemoryTransport;
let collectorUrl: string;
let site: { url: string; server: Server };
let browser: Browser | undefined;
const refused: string[] = [];

beforeAll(async () => {
  site = await serveSite(
    await bundle("import { jitsuAnalytics } from '@jitsu/js'; window.jitsuAnalytics = jitsuAnalytics;"),
  );
  transport = new InMemoryTransport();
  collector = buildApp(
    loadConfig({ SLUICE_WRITE_KEYS: `${KEY}=jitsu-web`, SLUICE_ALLOWED_ORIGINS: `jitsu-web=${site.url}` }),
    { transport },
  );
  collector.app.addHook('onSend', (request, reply, payload, done) => {
    if (reply.statusCode >= 400)
      refused.push(`${request.method} ${request.url} ${reply.statusCode} ${String(payload)}`);
    done(null, payload);
  });
  collectorUrl = await collector.app.listen({ host: '127.0.0.1', port: 0 });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await collector?.app.close();
  site?.server.close();
});

interface Jitsu {
  page(name?: string, properties?: Record<string, unknown>): Promise<unknown>;
  identify(userId: string, traits: Record<string, unknown>): Promise<unknown>;
  track(event: string, properties: Record<string, unknown>): Promise<unknown>;
  group(groupId: string, traits: Record<string, unknown>): Promise<unknown>;
  reset(): Promise<unknown>;
}

describe('@jitsu/js in Chromium', () => {
  it('delivers anonymous pages, identify, track, group and, after reset, a new anonymous page', async () => {
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    const outside = await confineToLoopback(page);
    await page.goto(site.url);
    await page.evaluate(
      async ({ host, writeKey }) => {
        const w = window as unknown as { jitsuAnalytics(o: Record<string, unknown>): Jitsu };
        const jitsu = w.jitsuAnalytics({ host, writeKey, errorPolicy: 'log' });
        await jitsu.page('Home', { section: 'landing' });
        await jitsu.page('Pricing', {});
        await jitsu.identify('user-7', { plan: 'team', email: 'user7@example.com' });
        await jitsu.track('Plan Chosen', { plan: 'team' });
        await jitsu.group('org-7', { name: 'Acme' });
        await jitsu.reset();
        await jitsu.page('After Reset', {});
      },
      { host: collectorUrl, writeKey: KEY },
    );
    await until('seven events', () => transport.events().length >= 7).catch(() => undefined);
    expect(refused).toEqual([]);
    expect(outside).toEqual([]);
    const events = transport.events();
    // Jitsu puts a page's name in its properties (page('Home', {...}) -> properties.name).
    const label = (e: Record<string, unknown>) =>
      String(e.event ?? (e.properties as { name?: string } | undefined)?.name ?? '');
    expect(
      events.map((e) => `${e.type}:${e.type === 'identify' || e.type === 'group' ? '' : label(e)}`),
    ).toEqual(['page:Home', 'page:Pricing', 'identify:', 'track:Plan Chosen', 'group:', 'page:After Reset']);
    const [home, pricing, identify, track, group, afterReset] = events;
    const anon = home?.anonymousId;
    expect(anon).toEqual(expect.any(String));
    for (const e of [home, pricing]) {
      expect(e?.anonymousId).toBe(anon);
      expect(e?.userId ?? '').toBe('');
      expect(e).toMatchObject({
        sourceId: 'jitsu-web',
        context: { ip: '127.0.0.1', library: { name: '@jitsu/js' }, page: { url: `${site.url}/` } },
      });
    }
    expect(home).toMatchObject({ properties: { name: 'Home', section: 'landing', path: '/' } });
    expect(identify).toMatchObject({ userId: 'user-7', anonymousId: anon, traits: { plan: 'team' } });
    expect(track).toMatchObject({ userId: 'user-7', event: 'Plan Chosen', properties: { plan: 'team' } });
    expect(group).toMatchObject({ userId: 'user-7', groupId: 'org-7', traits: { name: 'Acme' } });
    expect(afterReset?.userId ?? '').toBe('');
    expect(afterReset?.anonymousId).toEqual(expect.any(String));
    expect(afterReset?.anonymousId).not.toBe(anon);
    // The body's masked key (`jk_browser:***`) never leaves the collector; neither does the real one.
    for (const m of transport.messages) expect(m.data).not.toContain('jk_browser');
    expect(errors).toEqual([]);
    await page.close();

    // And it lands: every published event loads; identify traits in users, the group in accounts.
    const wh = await loadPublished(transport.messages.map((m) => m.data));
    try {
      expect(await wh.query('SELECT lines_read, events_loaded, failed FROM _sluice_loads')).toEqual([
        { lines_read: '6', events_loaded: '6', failed: '0' },
      ]);
      expect(await wh.query('SELECT count(*) AS n FROM pages WHERE user_id IS NULL')).toEqual([{ n: '3' }]);
      expect(await wh.query("SELECT id, plan FROM users WHERE id = 'user-7'")).toEqual([
        { id: 'user-7', plan: 'team' },
      ]);
      expect(await wh.query("SELECT id, name FROM accounts WHERE id = 'org-7'")).toEqual([
        { id: 'org-7', name: 'Acme' },
      ]);
    } finally {
      await wh.remove();
    }
  }, 180_000);
});
