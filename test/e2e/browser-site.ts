/** Shared by the third-party browser SDK suites: a client library bundled from node_modules, served by a tiny site. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Bundles `code` (an ES module importing a client from node_modules) into one IIFE, as a site would ship it. */
export async function bundle(code: string): Promise<string> {
  const out = await build({
    stdin: { contents: code, resolveDir: ROOT, loader: 'js' },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2019',
    write: false,
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  return out.outputFiles[0]?.text ?? '';
}

/** A site on a free loopback port: `/` is an empty page loading `/client.js`. */
export async function serveSite(script: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (req.url === '/client.js') {
      res.setHeader('content-type', 'application/javascript');
      res.end(script);
      return;
    }
    res.setHeader('content-type', 'text/html');
    res.end(
      '<!doctype html><html><head><title>Shop</title><script src="/client.js"></script></head><body>shop</body></html>',
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/**
 * Blocks every request that leaves the machine (a client's CDN, telemetry) and records it: the suites assert that
 * nothing but the site and the collector was asked for anything.
 */
export async function confineToLoopback(page: Page): Promise<string[]> {
  const outside: string[] = [];
  await page.route('**/*', (route) => {
    const { hostname } = new URL(route.request().url());
    if (hostname === '127.0.0.1' || hostname === 'localhost') return route.continue();
    outside.push(route.request().url());
    return route.abort();
  });
  return outside;
}

/** Polls `check` until it holds (or throws after `ms`). */
export async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
