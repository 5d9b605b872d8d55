// Forged Host, X-Forwarded-Host, X-Forwarded-Proto and X-Forwarded-For against every SLUICE_TRUST_PROXY form
// (issue 13 items 3 and 4): the settings answer never points clients at a host or protocol a client made up
// unless a trusted proxy said so, is never publicly cacheable when derived from a request, and `context.ip` holds
// only a valid IP (else nothing), chosen as the trust setting says.
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { basic, collector, KEYS, trackBody } from './support.ts';

const PROXY = '10.0.0.1';
const CLIENT = '203.0.113.9';

/** Each trust form and whether it trusts an address as a proxy at a hop (0 = the socket peer). */
const TRUST: { value: string; trusts: (address: string, hop: number) => boolean }[] = [
  { value: 'false', trusts: () => false },
  { value: 'true', trusts: () => true },
  { value: '1', trusts: (_a, hop) => hop < 1 },
  { value: '2', trusts: (_a, hop) => hop < 2 },
  { value: PROXY, trusts: (a) => a === PROXY },
  { value: '10.0.0.0/8', trusts: (a) => a.startsWith('10.') },
];

/** What proxy-addr documents: walk from the peer leftwards through X-Forwarded-For while each hop is trusted. */
function expectedIp(
  trusts: (a: string, hop: number) => boolean,
  peer: string,
  xff: string | undefined,
): string {
  const chain = [
    peer,
    ...(xff ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .reverse(),
  ];
  let i = 0;
  while (i < chain.length - 1 && trusts(chain[i] as string, i)) i++;
  return chain[i] as string;
}

const XFF = [
  undefined,
  '198.51.100.7',
  'not-an-ip<script>',
  'not-an-ip<script>, 198.51.100.7',
  '198.51.100.7, not-an-ip<script>',
  '1.1.1.1, 2.2.2.2, 10.0.0.7',
  '::ffff:198.51.100.8',
  '2001:db8::7',
];

describe.each(TRUST)('SLUICE_TRUST_PROXY=$value', ({ value, trusts }) => {
  it.each([PROXY, CLIENT])(
    'context.ip from peer %s is the hop the setting names, and only a valid IP',
    async (peer) => {
      const c = collector({ SLUICE_TRUST_PROXY: value });
      try {
        for (const xff of XFF) {
          const res = await c.app.inject({
            method: 'POST',
            url: '/v1/track',
            remoteAddress: peer,
            headers: {
              authorization: basic(KEYS.web),
              'content-type': 'application/json',
              ...(xff === undefined ? {} : { 'x-forwarded-for': xff }),
            },
            payload: trackBody(),
          });
          expect(res.statusCode, res.body).toBe(200);
          const context = (c.transport.events().at(-1)?.context ?? {}) as { ip?: unknown };
          const chosen = expectedIp(trusts, peer, xff);
          const canonical = chosen.startsWith('::ffff:') ? chosen.slice(7) : chosen;
          if (isIP(canonical) === 0) expect(context, `xff ${xff}`).not.toHaveProperty('ip');
          else expect(context.ip, `xff ${xff}`).toBe(canonical);
        }
      } finally {
        await c.app.close();
      }
    },
  );

  it('a forged X-Forwarded-For never escapes the per-IP limit by being invalid', async () => {
    const c = collector({
      SLUICE_TRUST_PROXY: value,
      SLUICE_RATE_LIMIT_IP_RPS: '1',
      SLUICE_RATE_LIMIT_IP_BURST: '3',
    });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 6; i++) {
        const res = await c.app.inject({
          method: 'POST',
          url: '/v1/track',
          remoteAddress: CLIENT,
          headers: {
            authorization: basic(KEYS.web),
            'content-type': 'application/json',
            'x-forwarded-for': `junk-${i}<x>`,
          },
          payload: trackBody(),
        });
        codes.push(res.statusCode);
      }
      expect(codes).toEqual([200, 200, 200, 429, 429, 429]);
    } finally {
      await c.app.close();
    }
  });

  it.each([PROXY, CLIENT])('settings from peer %s: forged hosts and protocols', async (peer) => {
    const c = collector({ SLUICE_TRUST_PROXY: value });
    const viaProxy = trusts(peer, 0);
    const settings = (headers: Record<string, string>) =>
      c.app.inject({ method: 'GET', url: `/v1/projects/${KEYS.web}/settings`, remoteAddress: peer, headers });
    const io = (body: string) =>
      (JSON.parse(body) as { integrations: { 'Segment.io': { apiHost: string; protocol: string } } })
        .integrations['Segment.io'];
    try {
      // Forwarded headers count only from a trusted proxy.
      const forged = await settings({
        host: 'collector.example',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
      });
      expect(forged.statusCode).toBe(200);
      expect(io(forged.body)).toMatchObject(
        viaProxy
          ? { apiHost: 'evil.example/v1', protocol: 'https' }
          : { apiHost: 'collector.example/v1', protocol: 'http' },
      );
      // ... and a URL derived from a request is never cached by shared caches.
      expect(forged.headers['cache-control']).toBe('private, max-age=300');
      expect(String(forged.headers.vary)).toMatch(/Host/);

      for (const proto of ['javascript', 'data', 'https:', 'ftp']) {
        const res = await settings({ host: 'collector.example', 'x-forwarded-proto': proto });
        if (viaProxy) expect(res.json()).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_HOST_INVALID' });
        else expect(io(res.body).protocol).toBe('http');
      }
      for (const host of [
        'evil.example/x',
        'a@evil.example',
        'javascript:alert(1)',
        'evil.example?',
        '<x>',
      ]) {
        const direct = await settings({ host });
        expect(direct.statusCode, host).toBe(400);
        expect(direct.json()).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_HOST_INVALID' });
        const forwarded = await settings({ host: 'collector.example', 'x-forwarded-host': host });
        expect(forwarded.statusCode, host).toBe(viaProxy ? 400 : 200);
      }
    } finally {
      await c.app.close();
    }
  });

  it('with SLUICE_PUBLIC_URL no header changes the answer, and it may be cached publicly', async () => {
    const c = collector({
      SLUICE_TRUST_PROXY: value,
      SLUICE_PUBLIC_URL: 'https://collect.shop.example/base/',
    });
    try {
      for (const headers of [
        {},
        { host: 'evil.example' },
        { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'javascript' },
        { host: 'a@b/c', 'x-forwarded-for': 'not-an-ip' },
      ]) {
        for (const peer of [PROXY, CLIENT]) {
          const res = await c.app.inject({
            method: 'GET',
            url: `/v1/projects/${KEYS.web}/settings`,
            remoteAddress: peer,
            headers,
          });
          expect(res.statusCode).toBe(200);
          expect(res.json().integrations['Segment.io']).toMatchObject({
            apiHost: 'collect.shop.example/base/v1',
            protocol: 'https',
          });
          expect(res.headers['cache-control']).toBe('public, max-age=300');
        }
      }
    } finally {
      await c.app.close();
    }
  });
});

describe('configuration', () => {
  it('refuses a non-http(s) SLUICE_PUBLIC_URL and trust entries that are not addresses', () => {
    expect(() => collector({ SLUICE_PUBLIC_URL: 'javascript:alert(1)' })).toThrow(/SLUICE_PUBLIC_URL/);
    expect(() => collector({ SLUICE_TRUST_PROXY: '10.0.0.1,loopback<x>' })).toThrow(/SLUICE_TRUST_PROXY/);
    expect(() => collector({ SLUICE_TRUST_PROXY: '10.0.0.0/33' })).toThrow(/SLUICE_TRUST_PROXY/);
  });
});
