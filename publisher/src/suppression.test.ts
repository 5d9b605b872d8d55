import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Analytics } from '@segment/analytics-node';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, type CollectorApp } from './app.ts';
import { gcsSuppressionReader } from './suppression-cache.ts';
import { isSuppressedEvent, suppressionHash } from './suppression-hash.ts';
import { fixedClock, testConfig } from './test-support.ts';
import { InMemoryTransport } from './transports/in-memory.ts';

/** The same vector as functions/src/privacy/person.test.ts: both packages hash ids the same way. */
const VECTOR = ['u-target', 'a83ede18c7df418bc992777309e2b399e99b3ea5ed6fd8631a20bf497d1d2f32'] as const;

const listText = (ids: readonly string[]): string =>
  JSON.stringify({
    version: 1,
    hashes: Object.fromEntries(
      ids.map((id) => [suppressionHash(id), { since: '2026-01-01T00:00:00Z', requestId: 'r' }]),
    ),
  });

let current: CollectorApp | undefined;
let dir: string | undefined;
afterEach(async () => {
  await current?.app.close();
  current = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function start(ids: readonly string[]) {
  dir = await mkdtemp(path.join(tmpdir(), 'sluice-suppress-'));
  const file = path.join(dir, 'buckets', 'sluice-privacy', 'suppressions.json');
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, listText(ids));
  const transport = new InMemoryTransport();
  const clock = fixedClock('2026-01-01T00:00:00.000Z');
  current = buildApp(testConfig({ SLUICE_BUCKETS_DIR: path.join(dir, 'buckets') }), { transport, clock });
  const url = await current.app.listen({ host: '127.0.0.1', port: 0 });
  return { transport, clock, url, file, app: current.app };
}

/** @segment/analytics-node, unchanged, sends `calls` to the collector; resolves with the errors it emitted. */
async function sendWithSegment(url: string, calls: (a: Analytics) => void): Promise<unknown[]> {
  const analytics = new Analytics({ writeKey: 'wk_test', host: url, maxRetries: 0, flushAt: 100 });
  const errors: unknown[] = [];
  analytics.on('error', (e) => errors.push(e));
  calls(analytics);
  await analytics.closeAndFlush({ timeout: 10_000 });
  return errors;
}

const metric = async (app: CollectorApp['app'], line: string): Promise<number> => {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const found = text.split('\n').find((l) => l.startsWith(line));
  return found === undefined ? 0 : Number(found.split(' ').at(-1));
};

describe('collector: suppressed people (privacy)', () => {
  it('hashes ids as the loader does', () => {
    expect(suppressionHash(VECTOR[0])).toBe(VECTOR[1]);
  });

  it('the rule: a listed user id, previous id, or anonymous id without another user', () => {
    const listed = new Set(['u1', 'a1'].map(suppressionHash));
    const has = (h: string): boolean => listed.has(h);
    expect(isSuppressedEvent({ userId: 'u1' }, has)).toBe(true);
    expect(isSuppressedEvent({ anonymousId: 'a1' }, has)).toBe(true);
    expect(isSuppressedEvent({ previousId: 'a1', userId: 'u9' }, has)).toBe(true);
    expect(isSuppressedEvent({ anonymousId: 'a1', userId: 'u9' }, has)).toBe(false);
    expect(isSuppressedEvent({ userId: 'u9', anonymousId: 'a9' }, has)).toBe(false);
  });

  it('a real Segment client gets 200 for suppressed events; they are not published and are counted; unsuppress collects again after the refresh', async () => {
    const { transport, clock, url, file, app } = await start(['u-sup', 'a-sup']);
    const errors = await sendWithSegment(url, (a) => {
      a.track({ userId: 'u-sup', event: 'Order Completed', properties: { total: 1 } });
      a.page({ anonymousId: 'a-sup', name: 'Home' });
      a.identify({ userId: 'u-ok', traits: { plan: 'pro' } });
      // A device shared with another account: that account's events are collected.
      a.track({ userId: 'u-ok', anonymousId: 'a-sup', event: 'Signed Up' });
    });
    expect(errors).toEqual([]);
    expect(transport.messages.map((m) => JSON.parse(m.data).userId)).toEqual(['u-ok', 'u-ok']);
    expect(await metric(app, 'sluice_events_suppressed_total{type="track"}')).toBe(1);
    expect(await metric(app, 'sluice_events_suppressed_total{type="page"}')).toBe(1);
    expect(await metric(app, 'sluice_http_requests_total{route="/v1/batch",status="200"}')).toBe(1);

    await writeFile(file, listText([]));
    clock.set('2026-01-01T00:00:59.000Z');
    await sendWithSegment(url, (a) => a.track({ userId: 'u-sup', event: 'Still' }));
    expect(transport.messages).toHaveLength(2); // within the documented staleness (60 s): still suppressed
    clock.set('2026-01-01T00:01:00.000Z');
    await sendWithSegment(url, (a) => a.track({ userId: 'u-sup', event: 'Back' }));
    expect(transport.messages.map((m) => JSON.parse(m.data).event)).toContain('Back');
    expect(await metric(app, 'sluice_events_suppressed_total{type="track"}')).toBe(2);
  });

  it('reads the list from Cloud Storage (JSON API media download); a failed read keeps the previous list and is counted', async () => {
    let answer: { status: number; body: string } = { status: 200, body: listText(['u-sup']) };
    const paths: string[] = [];
    // Strict stand-in of objects.get with alt=media (https://cloud.google.com/storage/docs/json_api/v1/objects/get).
    const gcs = createServer((req, res) => {
      paths.push(req.url ?? '');
      const ok =
        req.method === 'GET' && req.url === '/storage/v1/b/sluice-privacy/o/suppressions.json?alt=media';
      res.writeHead(ok ? answer.status : 400, { 'content-type': 'application/json' });
      res.end(ok ? answer.body : '{"error":{"code":400}}');
    });
    await new Promise<void>((resolve) => gcs.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(gcs.address() as AddressInfo).port}`;
      const transport = new InMemoryTransport();
      const clock = fixedClock('2026-01-01T00:00:00.000Z');
      current = buildApp(testConfig({ SLUICE_SUPPRESSION_SOURCE: 'gcs', STORAGE_EMULATOR_HOST: endpoint }), {
        transport,
        clock,
      });
      const app = current.app;
      const post = (userId: string) =>
        app.inject({
          method: 'POST',
          url: '/v1/track',
          headers: { authorization: `Basic ${Buffer.from('wk_test:').toString('base64')}` },
          payload: { userId, event: 'E', messageId: `m-${userId}-${paths.length}` },
        });
      expect((await post('u-sup')).statusCode).toBe(200);
      answer = { status: 503, body: '{}' };
      clock.set('2026-01-01T00:02:00.000Z');
      expect((await post('u-sup')).statusCode).toBe(200);
      expect(transport.messages).toHaveLength(0); // the previous list stays in force
      expect(await metric(app, 'sluice_suppression_read_failures_total')).toBe(1);
      answer = { status: 404, body: '{}' }; // no list object: nothing suppressed
      clock.set('2026-01-01T00:03:00.000Z');
      expect((await post('u-sup')).statusCode).toBe(200);
      expect(transport.messages).toHaveLength(1);
      expect(paths).toHaveLength(3); // one read per refresh, not per request
    } finally {
      gcs.close();
    }
  });

  it('the GCS reader asks the metadata server for a token when no endpoint override is set', async () => {
    const calls: string[] = [];
    const fake = (async (input: string | URL | Request, init?: RequestInit) => {
      calls.push(`${String(input)} ${JSON.stringify(init?.headers ?? {})}`);
      if (String(input).includes('metadata'))
        return new Response(JSON.stringify({ access_token: 'tok' }), { status: 200 });
      return new Response('{"version":1,"hashes":{}}', { status: 200 });
    }) as typeof fetch;
    expect(await gcsSuppressionReader('b', 'o.json', undefined, fake)()).toContain('hashes');
    expect(calls[0]).toContain('Metadata-Flavor');
    expect(calls[1]).toContain('https://storage.googleapis.com/storage/v1/b/b/o/o.json?alt=media');
    expect(calls[1]).toContain('Bearer tok');
  });
});
