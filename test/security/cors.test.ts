// CORS probes against the real collector (issue 13 item 2): preflights and POSTs from listed, unlisted, `null` and
// suffix-trick origins, for every form of SLUICE_ALLOWED_ORIGINS. The expected answer comes from the lists written
// out literally below (an oracle independent of cors.ts), and the invariants hold for generated origins too.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { basic, collector, KEYS, trackBody } from './support.ts';

const GOOD = 'https://good.example';
const WWW = 'https://www.good.example';
const OTHER = 'https://other.example';

/** Each form of the setting and what each source is then allowed, spelled out. */
const FORMS: { name: string; value: string | undefined; web: string[]; app: string[] }[] = [
  { name: 'unset (default *)', value: undefined, web: ['*'], app: ['*'] },
  { name: '*', value: '*', web: ['*'], app: ['*'] },
  { name: 'global list', value: `${GOOD}|${WWW}`, web: [GOOD, WWW], app: [GOOD, WWW] },
  { name: 'per-source only', value: `web=${GOOD}`, web: [GOOD], app: [] },
  { name: 'per-source, other source *', value: `web=${GOOD},app=*`, web: [GOOD], app: ['*'] },
  { name: 'per-source plus global list', value: `web=${GOOD},${OTHER}`, web: [GOOD], app: [OTHER] },
  { name: 'per-source plus global *', value: `web=${GOOD},*`, web: [GOOD], app: ['*'] },
  {
    name: 'per-source, mixed case and default port',
    value: `web=HTTPS://Good.Example:443`,
    web: [GOOD],
    app: [],
  },
];

const ORIGINS = [
  GOOD,
  WWW,
  OTHER,
  'https://evil.example',
  'null',
  'https://good.example.evil.com',
  'https://evilgood.example',
  'https://sub.good.example',
  'http://good.example',
  'https://good.example:8443',
];

type Expect = { allowOrigin: string | undefined; credentials: string | undefined };

function oracle(list: readonly string[], origin: string): Expect {
  if (list.includes(origin)) return { allowOrigin: origin, credentials: 'true' };
  if (list.includes('*')) return { allowOrigin: '*', credentials: undefined };
  return { allowOrigin: undefined, credentials: undefined };
}

function seen(headers: Record<string, unknown>): Expect {
  const h = (name: string) => headers[name] as string | undefined;
  return {
    allowOrigin: h('access-control-allow-origin'),
    credentials: h('access-control-allow-credentials'),
  };
}

describe.each(FORMS)('SLUICE_ALLOWED_ORIGINS $name', (form) => {
  const env: Record<string, string> = form.value === undefined ? {} : { SLUICE_ALLOWED_ORIGINS: form.value };

  it.each(ORIGINS)('origin %s: preflight, POST per source, unknown key', async (origin) => {
    const c = collector(env);
    try {
      // A preflight has no key: it is answered for the union of the sources' lists.
      const pre = await c.app.inject({
        method: 'OPTIONS',
        url: '/v1/track',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type, authorization',
        },
      });
      expect(pre.statusCode).toBe(204);
      expect(seen(pre.headers)).toEqual(oracle([...form.web, ...form.app], origin));
      expect(pre.headers.vary).toMatch(/Origin/);

      for (const source of ['web', 'app'] as const) {
        const list = form[source];
        const want = oracle(list, origin);
        const res = await c.app.inject({
          method: 'POST',
          url: '/v1/track',
          headers: { origin, authorization: basic(KEYS[source]), 'content-type': 'text/plain' },
          payload: trackBody({ properties: { source } }),
        });
        expect(res.statusCode, `${source} ${res.body}`).toBe(want.allowOrigin === undefined ? 403 : 200);
        expect(seen(res.headers), source).toEqual(want);
      }
      const published = c.transport.events().map((e) => e.sourceId);
      expect(published).toEqual(
        (['web', 'app'] as const).filter((s) => oracle(form[s], origin).allowOrigin !== undefined),
      );

      // Refused before any source is known: readable by origins some source allows, nobody else.
      const unknown = await c.app.inject({
        method: 'POST',
        url: '/v1/track',
        headers: { origin, authorization: basic('wk_nobody'), 'content-type': 'text/plain' },
        payload: trackBody(),
      });
      expect(unknown.statusCode).toBe(401);
      expect(seen(unknown.headers)).toEqual(oracle([...form.web, ...form.app], origin));

      // The settings route answers for the key in its path.
      const settings = await c.app.inject({
        method: 'GET',
        url: `/v1/projects/${KEYS.web}/settings`,
        headers: { origin, host: 'collector.example' },
      });
      expect(settings.statusCode).toBe(200);
      expect(seen(settings.headers)).toEqual(oracle(form.web, origin));
    } finally {
      await c.app.close();
    }
  });

  it('operator routes (/metrics, /healthz, /readyz) carry no CORS at all', async () => {
    const c = collector(env);
    try {
      for (const url of ['/metrics', '/healthz', '/readyz', '/metrics/', '/healthz/']) {
        const get = await c.app.inject({ method: 'GET', url, headers: { origin: GOOD } });
        expect(get.statusCode, url).toBe(200);
        expect(get.headers['access-control-allow-origin'], url).toBeUndefined();
        expect(get.headers['access-control-allow-credentials'], url).toBeUndefined();
        const pre = await c.app.inject({
          method: 'OPTIONS',
          url,
          headers: { origin: GOOD, 'access-control-request-method': 'GET' },
        });
        expect(pre.statusCode, url).toBe(404);
        expect(pre.headers['access-control-allow-origin'], url).toBeUndefined();
      }
    } finally {
      await c.app.close();
    }
  });
});

describe('generated origins', () => {
  it('never get their origin echoed, or credentials, unless listed exactly', async () => {
    const c = collector({ SLUICE_ALLOWED_ORIGINS: `web=${GOOD},app=*` });
    const variant = fc.oneof(
      fc.tuple(
        fc.constantFrom('', 'x', 'evil', 'good.example.', '-'),
        fc.constantFrom('', '.evil.com', 'x', ':1'),
      ),
      fc.tuple(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 })),
    );
    try {
      await fc.assert(
        fc.asyncProperty(
          variant,
          fc.constantFrom('https://', 'http://', 'HTTPS://', ''),
          async ([pre, post], scheme) => {
            const origin = `${scheme}${pre}good.example${post}`;
            if (!/^[\t\x20-\x7e]*$/.test(origin)) return; // not a header value
            const res = await c.app.inject({
              method: 'POST',
              url: '/v1/track',
              headers: { origin, authorization: basic(KEYS.web), 'content-type': 'text/plain' },
              payload: trackBody(),
            });
            const listed = origin === GOOD;
            expect(res.statusCode).toBe(listed ? 200 : 403);
            expect(res.headers['access-control-allow-origin']).toBe(listed ? GOOD : undefined);
            expect(res.headers['access-control-allow-credentials']).toBe(listed ? 'true' : undefined);
          },
        ),
        { numRuns: 200 },
      );
    } finally {
      await c.app.close();
    }
  });
});
