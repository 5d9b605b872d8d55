// The browser SDK (sdk/dist/sluice.iife.js, loaded by the documented snippet) in real headless Chromium against
// the real collector (buildApp from @sluice/publisher over its in-memory transport).
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { buildApp, InMemoryTransport, loadConfig } from '@sluice/publisher';
import { snippet } from '@sluice/sdk';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium } from './chromium.ts';

const IIFE = fileURLToPath(new URL('../../sdk/dist/sluice.iife.js', import.meta.url));
const KEY = 'wk_browser';

interface Hit {
  url: string;
  status: number;
  contentType: string;
  auth: boolean;
}

async function until<T>(what: string, f: () => T | Promise<T>, ms = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let browser: Browser;
let collector: ReturnType<typeof buildApp>;
let transport: InMemoryTransport;
let site: Server;
let siteUrl = '';
let collectorUrl = '';
const hits: Hit[] = [];

/** Events the collector accepted (published), parsed. */
const events = (): Record<string, unknown>[] => transport.events();
const named = (name: string) => events().filter((e) => e.event === name);

beforeAll(async () => {
  if (!existsSync(IIFE)) throw new Error('sdk/dist/sluice.iife.js missing: run `npm run build -w sdk`');
  transport = new InMemoryTransport();
  collector = buildApp(
    loadConfig({
      SLUICE_WRITE_KEYS: `${KEY}=web`,
      SLUICE_RETRY_AFTER_SECONDS: '1',
      SLUICE_PUBLISH_TIMEOUT_MS: '300',
    }),
    { transport },
  );
  collector.app.addHook('onResponse', async (req, reply) => {
    if (req.method === 'POST')
      hits.push({
        url: req.url,
        status: reply.statusCode,
        contentType: String(req.headers['content-type'] ?? ''),
        auth: Boolean(req.headers.authorization),
      });
  });
  collectorUrl = await collector.app.listen({ port: 0, host: '127.0.0.1' });

  site = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/sluice.iife.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(readFileSync(IIFE));
      return;
    }
    const opts = JSON.parse(url.searchParams.get('opts') ?? '{}') as Record<string, unknown>;
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(
      `<!doctype html><html><head><title>Sluice test page</title><script>${snippet(KEY, {
        host: collectorUrl,
        src: `${siteUrl}/sluice.iife.js`,
        flushInterval: 200,
        retryBase: 200,
        retryCap: 1000,
        ...opts,
      })}</script></head><body>hi</body></html>`,
    );
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', () => r()));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await collector?.app.close();
  await new Promise((r) => site?.close(r));
});

let ctx: BrowserContext;
beforeEach(async () => {
  transport.messages.length = 0;
  transport.failWith = undefined;
  hits.length = 0;
  await ctx?.close();
  ctx = await browser.newContext({ locale: 'de-DE', timezoneId: 'Europe/Berlin' });
});

async function open(opts: Record<string, unknown> = {}, query = ''): Promise<Page> {
  const page = await ctx.newPage();
  await page.goto(`${siteUrl}/shop?opts=${encodeURIComponent(JSON.stringify(opts))}${query}`);
  await page.waitForFunction(
    () =>
      typeof (window as unknown as { analytics: { load?: unknown } }).analytics.load === 'function' &&
      !Array.isArray((window as unknown as { analytics: unknown }).analytics),
  );
  return page;
}

const track = (page: Page, name: string, props: Record<string, unknown> = {}) =>
  page.evaluate(
    ([n, p]) =>
      (window as unknown as { analytics: { track(n: string, p: unknown): void } }).analytics.track(
        n as string,
        p,
      ),
    [name, props] as const,
  );

const stored = (page: Page) =>
  page.evaluate(
    () =>
      Object.keys(localStorage)
        .filter((k) => k.includes(':q:'))
        .flatMap((k) => JSON.parse(localStorage.getItem(k) ?? '[]') as unknown[]).length,
  );

describe('browser SDK in Chromium against the collector', () => {
  it('delivers events with the page, campaign and browser context (snippet calls replayed)', async () => {
    const page = await open({}, '&utm_source=newsletter&utm_campaign=spring');
    await track(page, 'Product Viewed', { sku: 'A1' });
    const [e] = await until('track event', () =>
      named('Product Viewed').length > 0 ? named('Product Viewed') : undefined,
    );
    const pv = await until('snippet page()', () => events().find((x) => x.type === 'page'));
    expect(pv).toMatchObject({ properties: { path: '/shop', title: 'Sluice test page' } });
    expect(e).toMatchObject({
      type: 'track',
      properties: { sku: 'A1' },
      sourceId: 'web',
      anonymousId: expect.any(String),
      context: {
        library: { name: '@sluice/sdk' },
        page: { path: '/shop', title: 'Sluice test page', url: expect.stringContaining('/shop?') },
        campaign: { source: 'newsletter', name: 'spring' },
        locale: 'de-DE',
        timezone: 'Europe/Berlin',
        userAgent: expect.stringContaining('Chrome'),
        screen: { width: expect.any(Number), height: expect.any(Number), density: expect.any(Number) },
      },
    });
    expect(e!.anonymousId).toBe(pv!.anonymousId);
    const cookies = await ctx.cookies(siteUrl);
    expect(cookies.find((c) => c.name === 'ajs_anonymous_id')?.value).toContain(String(e!.anonymousId));
  });

  it('offline -> page closed -> back online: the next page load delivers what was queued, once', async () => {
    const page = await open();
    await until('snippet page() delivered', () => events().some((x) => x.type === 'page'));
    await ctx.setOffline(true);
    await track(page, 'Offline Event');
    await until('event stored', async () => (await stored(page)) > 0);
    await page.close(); // pagehide while offline: no beacon (it would be lost), the queue stays in localStorage
    expect(named('Offline Event')).toHaveLength(0);
    await ctx.setOffline(false);
    await open();
    await until('offline event delivered', () => named('Offline Event').length > 0);
    await until('second page view', () => events().filter((x) => x.type === 'page').length >= 2);
    expect(named('Offline Event')).toHaveLength(1);
  });

  it('a closing page flushes by beacon (text/plain, write key in the body)', async () => {
    const page = await open({ flushInterval: 600_000, flushAt: 100 });
    await track(page, 'Before Close 1');
    await track(page, 'Before Close 2');
    expect(hits).toHaveLength(0);
    await page.goto('about:blank');
    await until('beacon delivered', () => named('Before Close 2').length > 0);
    expect(named('Before Close 1')).toHaveLength(1);
    const beacon = hits.find((h) => h.url === '/v1/batch' && h.status === 200);
    expect(beacon).toMatchObject({ auth: false });
    expect(beacon!.contentType).toContain('text/plain');
  });

  it('a 503 is retried until accepted', async () => {
    transport.failWith = new Error('pubsub down');
    const page = await open();
    await track(page, 'Retry Me');
    await until('a 503', () => hits.some((h) => h.status === 503));
    expect(named('Retry Me')).toHaveLength(0);
    transport.failWith = undefined;
    await until('retried delivery', () => named('Retry Me').length > 0);
    expect(named('Retry Me')).toHaveLength(1);
    await until('queue emptied', async () => (await stored(page)) === 0);
  });

  it('two tabs do not send the same event twice', async () => {
    const [a, b] = [await open({ flushAt: 3 }), await open({ flushAt: 3 })];
    for (let i = 0; i < 10; i++) {
      await track(a, 'Tab Event', { tab: 'a', i });
      await track(b, 'Tab Event', { tab: 'b', i });
    }
    await until('20 tab events', () => named('Tab Event').length >= 20);
    // let both tabs tick a few more times (heartbeats, adoption scans), then look for duplicates
    await Promise.all([
      a.evaluate(() => new Promise((r) => setTimeout(r, 1500))),
      b.evaluate(() => undefined),
    ]);
    const ids = events().map((e) => e.messageId);
    expect(named('Tab Event')).toHaveLength(20);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('a disabled SDK stores and sends nothing until enabled', async () => {
    const page = await open({ disabled: true });
    await page.evaluate(() => {
      const a = (window as unknown as { analytics: Record<string, (...x: unknown[]) => void> }).analytics;
      a.identify!('user-1', { email: 'x@y.z' });
      a.track!('While Disabled');
    });
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(await ctx.cookies(siteUrl)).toHaveLength(0);
    await page.evaluate(() => {
      const a = (window as unknown as { analytics: Record<string, (...x: unknown[]) => void> }).analytics;
      a.enable!();
      a.track!('After Enable');
    });
    await until('event after enable', () => named('After Enable').length > 0);
    expect(events().map((e) => e.event ?? e.type)).toEqual(['After Enable']);
  });
});
