// Key guessing on every route that takes a write key (issue 13 item 3): after SLUICE_AUTH_FAILURES_PER_MINUTE
// (default 20) unknown keys from one client address, every keyed route answers 429 with Retry-After — a known key
// included, else the answer would still tell a right guess from a wrong one — until the bucket refills. Other
// addresses and the operator routes are not affected.
import { Agent, request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { basic, collector, KEYS, trackBody } from './support.ts';

interface Probe {
  name: string;
  request: (key: string) => {
    method: 'GET' | 'POST';
    url: string;
    headers?: Record<string, string>;
    payload?: string;
  };
}

const json = { 'content-type': 'application/json' };
const batch = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ batch: [JSON.parse(trackBody())], ...extra });

/** Every way a key reaches the collector, on every keyed route. */
const PROBES: Probe[] = [
  ...['/v1/track', '/v1/t', '/v1/page/', '/v1/identify', '/v1/group', '/v1/alias', '/v1/screen'].map(
    (url) => ({
      name: `Basic ${url}`,
      request: (key: string) => ({
        method: 'POST' as const,
        url,
        headers: { ...json, authorization: basic(key) },
        payload: trackBody({ userId: 'u', previousId: 'p', groupId: 'g', name: 'n' }),
      }),
    }),
  ),
  ...['/v1/batch', '/v1/b/', '/v1/import/'].map((url) => ({
    name: `Basic ${url}`,
    request: (key: string) => ({
      method: 'POST' as const,
      url,
      headers: { ...json, authorization: basic(key) },
      payload: batch(),
    }),
  })),
  {
    name: 'Bearer /v1/batch',
    request: (key) => ({
      method: 'POST',
      url: '/v1/batch',
      headers: { ...json, authorization: `Bearer ${key}` },
      payload: batch(),
    }),
  },
  {
    name: 'body writeKey /v1/track (sendBeacon)',
    request: (key) => ({
      method: 'POST',
      url: '/v1/track',
      headers: { 'content-type': 'text/plain' },
      payload: trackBody({ writeKey: key }),
    }),
  },
  {
    name: 'settings path',
    request: (key) => ({
      method: 'GET',
      url: `/v1/projects/${encodeURIComponent(key)}/settings`,
      headers: { host: 'c.example' },
    }),
  },
  {
    name: 'RudderStack sourceConfig query',
    request: (key) => ({
      method: 'GET',
      url: `/sourceConfig/?p=npm&v=3.34.1&writeKey=${encodeURIComponent(key)}`,
    }),
  },
  {
    name: 'RudderStack beacon query',
    request: (key) => ({
      method: 'POST',
      url: `/beacon/v1/batch?writeKey=${encodeURIComponent(key)}`,
      headers: { 'content-type': 'text/plain' },
      payload: batch(),
    }),
  },
  {
    name: 'Jitsu X-Write-Key',
    request: (key) => ({
      method: 'POST',
      url: '/api/s/track',
      headers: { ...json, 'x-write-key': key },
      payload: trackBody({ writeKey: 'masked:***' }),
    }),
  },
];

describe.each(PROBES)('$name', ({ request }) => {
  it('answers 401 to the first 20 unknown keys, then 429 with Retry-After for any key until refilled', async () => {
    const c = collector();
    const send = (key: string, remoteAddress = '198.51.100.1') =>
      c.app.inject({ ...request(key), remoteAddress });
    try {
      expect((await send(KEYS.web)).statusCode).toBe(200);
      for (let i = 0; i < 20; i++) {
        const res = await send(`guess-${i}`);
        expect(res.statusCode, `guess ${i}: ${res.body}`).toBe(401);
      }
      const throttled = await send('guess-20');
      expect(throttled.statusCode).toBe(429);
      expect(throttled.json()).toMatchObject({
        code: 'SLUICE_ERR_PUBLISHER_AUTH_THROTTLED',
        retryable: true,
      });
      expect(Number(throttled.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // A right guess looks the same as a wrong one now.
      expect((await send(KEYS.web)).statusCode).toBe(429);
      // Another address is not affected; neither are the operator routes.
      expect((await send(KEYS.web, '198.51.100.2')).statusCode).toBe(200);
      const health = await c.app.inject({ method: 'GET', url: '/healthz', remoteAddress: '198.51.100.1' });
      expect(health.statusCode).toBe(200);
      // The bucket refills over a minute: after Retry-After, one more guess is allowed, and then 429 again.
      c.advance(Number(throttled.headers['retry-after']) * 1000);
      expect((await send('guess-21')).statusCode).toBe(401);
      expect((await send(KEYS.web)).statusCode).toBe(429);
      c.advance(60_000);
      expect((await send(KEYS.web)).statusCode).toBe(200);
    } finally {
      await c.app.close();
    }
  });
});

describe('SLUICE_AUTH_FAILURES_PER_MINUTE', () => {
  it('sets the limit, and 0 turns it off', async () => {
    for (const [limit, allowed] of [
      ['5', 5],
      ['0', 40],
    ] as const) {
      const c = collector({ SLUICE_AUTH_FAILURES_PER_MINUTE: limit });
      try {
        const codes: number[] = [];
        for (let i = 0; i < 40; i++) {
          const res = await c.app.inject({
            method: 'POST',
            url: '/v1/track',
            headers: { 'content-type': 'application/json', authorization: basic(`nope-${i}`) },
            payload: trackBody(),
          });
          codes.push(res.statusCode);
        }
        expect(codes.filter((s) => s === 401)).toHaveLength(allowed);
        expect(codes.filter((s) => s === 429)).toHaveLength(40 - allowed);
      } finally {
        await c.app.close();
      }
    }
  });

  it('two clients guessing at once each get exactly their own 20, even when all pass the early check first', async () => {
    // Behind one trusted proxy hop, so the two clients are told apart by X-Forwarded-For. Every request's headers
    // arrive (and pass the onRequest check) before any body does: only the check inside the lookup can hold.
    const c = collector({ SLUICE_TRUST_PROXY: '1' });
    const total = 60;
    let arrived = 0;
    let allArrived: () => void = () => {};
    const arrivedAll = new Promise<void>((r) => {
      allArrived = r;
    });
    c.app.addHook('onRequest', (_request, _reply, done) => {
      if (++arrived === total) allArrived();
      done();
    });
    try {
      const url = new URL(await c.app.listen({ host: '127.0.0.1', port: 0 }));
      const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
      const bodies: (() => void)[] = [];
      const guess = (client: string, i: number) =>
        new Promise<number>((resolve, reject) => {
          const body = batch();
          const req = httpRequest(
            {
              host: url.hostname,
              port: url.port,
              path: '/v1/batch',
              method: 'POST',
              agent,
              headers: {
                'content-type': 'application/json',
                'content-length': Buffer.byteLength(body),
                authorization: basic(`g-${client}-${i}`),
                'x-forwarded-for': client,
              },
            },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          );
          req.on('error', reject);
          req.flushHeaders();
          bodies.push(() => req.end(body));
        });
      const clients = ['198.51.100.10', '198.51.100.11'];
      const pending = clients.map((a) =>
        Promise.all(Array.from({ length: total / 2 }, (_, i) => guess(a, i))),
      );
      await arrivedAll;
      for (const send of bodies) send();
      for (const codes of await Promise.all(pending)) {
        expect(codes.filter((s) => s === 401)).toHaveLength(20);
        expect(codes.filter((s) => s === 429)).toHaveLength(10);
      }
      agent.destroy();
    } finally {
      await c.app.close();
    }
  });
});
