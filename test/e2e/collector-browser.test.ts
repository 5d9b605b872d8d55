// Segment's browser SDK (@segment/analytics-next, UMD build from node_modules) in Chromium, with its CDN and API
// hosts set to the collector: it fetches settings from GET /v1/projects/:writeKey/settings, then posts events
// cross-origin (CORS preflight included) to the short /v1/{t,i,p,...} paths as text/plain.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { buildApp, type CollectorApp, InMemoryTransport, loadConfig } from '@sluice/publisher';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './chromium.ts';

const UMD = fileURLToPath(
  new URL('../../node_modules/@segment/analytics-next/dist/umd/index.js', import.meta.url),
);

let collector: CollectorApp;
let transport: InMemoryTransport;
let collectorUrl: string;
let site: Server;
let siteUrl: string;
let browser: Browser | undefined;

describe('analytics-next in Chromium', () => {
  beforeAll(async () => {
    transport = new InMemoryTransport();
    site = createServer((req, res) => {
      if (req.url === '/analytics.js') {
        res.setHeader('content-type', 'application/javascript');
        res.end(readFileSync(UMD));
        return;
      }
      res.setHeader('content-type', 'text/html');
      res.end(
        '<!doctype html><html><head><script src="/analytics.js"></script></head><body>shop</body></html>',
      );
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    collector = buildApp(
      loadConfig({ SLUICE_WRITE_KEYS: 'wk_browser=web', SLUICE_ALLOWED_ORIGINS: `web=${siteUrl}` }),
      { transport },
    );
    collectorUrl = await collector.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await collector?.app.close();
    site?.close();
  });

  it('loads settings from the collector and delivers track, page, identify and group events', async () => {
    const page = await browser!.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(siteUrl);
    await page.evaluate(
      async ({ cdnURL }) => {
        const w = window as unknown as {
          AnalyticsNext: {
            AnalyticsBrowser: {
              load(s: { writeKey: string; cdnURL: string }, o?: Record<string, unknown>): unknown;
            };
          };
          sluice: unknown;
        };
        const [analytics] = (await w.AnalyticsNext.AnalyticsBrowser.load(
          { writeKey: 'wk_browser', cdnURL },
          { disableClientPersistence: true },
        )) as [
          {
            track(e: string, p: Record<string, unknown>): Promise<unknown>;
            page(c?: string, n?: string): Promise<unknown>;
            identify(id: string, t: Record<string, unknown>): Promise<unknown>;
            group(id: string, t: Record<string, unknown>): Promise<unknown>;
          },
          unknown,
        ];
        await analytics.page(undefined, 'Home');
        await analytics.identify('user-7', { plan: 'pro' });
        await analytics.track('Added To Cart', { sku: 'abc', price: 9.5, tags: ['a', 'b'] });
        await analytics.group('org-7', { name: 'Acme' });
      },
      { cdnURL: collectorUrl },
    );
    const deadline = Date.now() + 15_000;
    while (transport.events().length < 4 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const events = transport.events();
    expect(events.map((e) => e.type)).toEqual(['page', 'identify', 'track', 'group']);
    const track = events[2] ?? {};
    expect(track).toMatchObject({
      event: 'Added To Cart',
      userId: 'user-7',
      properties: { sku: 'abc', price: 9.5, tags: ['a', 'b'] },
      sourceId: 'web',
      context: { ip: '127.0.0.1', library: { name: 'analytics.js' } },
    });
    expect(track.anonymousId).toEqual(expect.any(String));
    expect(track).not.toHaveProperty('writeKey');
    expect(events[0]).toMatchObject({ name: 'Home', context: { page: { url: `${siteUrl}/` } } });
    expect(pageErrors).toEqual([]);
    const metrics = (await collector.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('route="/v1/projects/:writeKey/settings",status="200"');
    expect(metrics).toContain('route="/v1/t",status="200"');
  }, 60_000);
});
