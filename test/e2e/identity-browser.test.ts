// Issue 20's end-to-end proof: the browser SDK (sdk/dist/sluice.iife.js, the documented snippet) in headless
// Chromium sends anonymous page views, then identify; the collector publishes them, the loader's command loads them,
// and the stitched pages view attributes the earlier, anonymous page views to the user.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { buildApp, InMemoryTransport, loadConfig } from '@sluice/publisher';
import { snippet } from '@sluice/sdk';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './chromium.ts';
import { loadPublished } from './load-published.ts';

const IIFE = fileURLToPath(new URL('../../sdk/dist/sluice.iife.js', import.meta.url));
const KEY = 'wk_identity';

let browser: Browser;
let collector: ReturnType<typeof buildApp>;
let transport: InMemoryTransport;
let site: Server;
let siteUrl = '';

beforeAll(async () => {
  if (!existsSync(IIFE)) throw new Error('sdk/dist/sluice.iife.js missing: run `npm run build -w sdk`');
  transport = new InMemoryTransport();
  collector = buildApp(loadConfig({ SLUICE_WRITE_KEYS: `${KEY}=web` }), { transport });
  const collectorUrl = await collector.app.listen({ port: 0, host: '127.0.0.1' });
  site = createServer((req, res) => {
    if (req.url === '/sluice.iife.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(readFileSync(IIFE));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(
      `<!doctype html><html><head><title>Shop</title><script>${snippet(KEY, {
        host: collectorUrl,
        src: `${siteUrl}/sluice.iife.js`,
        flushInterval: 100,
      })}</script></head><body>shop</body></html>`,
    );
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', () => r()));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await collector?.app.close();
  await new Promise((r) => site?.close(r));
});

async function until<T>(what: string, f: () => T | undefined, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('identity graph end to end (browser SDK -> collector -> loader -> stitched view)', () => {
  it('the anonymous page views before identify are attributed to the user', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const pages = () => transport.events().filter((e) => e.type === 'page');
    for (const path of ['/', '/pricing', '/signup']) {
      const before = pages().length;
      await page.goto(`${siteUrl}${path}`);
      await until(`page view of ${path}`, () => (pages().length > before ? true : undefined));
    }
    await page.evaluate(() =>
      (window as unknown as { analytics: { identify(id: string, t: unknown): void } }).analytics.identify(
        'user-42',
        { email: 'ada@example.com' },
      ),
    );
    const identify = await until('identify', () => transport.events().find((e) => e.type === 'identify'));
    await ctx.close();
    const anonymousId = String(identify.anonymousId);
    expect(pages().map((p) => [p.anonymousId, p.userId ?? null])).toEqual([
      [anonymousId, null],
      [anonymousId, null],
      [anonymousId, null],
    ]);

    const wh = await loadPublished(transport.messages.map((m) => m.data));
    try {
      const stitched = await wh.query(
        `SELECT context_page_path AS path, user_id, blended_user_id, person_id,
           (SELECT person_id FROM identity_map WHERE id_type = 'user_id' AND id_value = 'user-42') AS users_person
         FROM pages_stitched ORDER BY timestamp`,
      );
      expect(stitched.map((r) => [r.path, r.user_id, r.blended_user_id])).toEqual([
        ['/', null, 'user-42'],
        ['/pricing', null, 'user-42'],
        ['/signup', null, 'user-42'],
      ]);
      for (const r of stitched) expect(r.person_id).toBe(r.users_person);
      expect(await wh.query('SELECT user_ids, anonymous_ids FROM persons')).toEqual([
        { user_ids: ['user-42'], anonymous_ids: [anonymousId] },
      ]);
    } finally {
      await wh.remove();
    }
  }, 120_000);
});
