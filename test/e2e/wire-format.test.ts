// Segment's server libraries' documented requests, replayed over real HTTP (issue 14 tests): each library's path
// (with and without the trailing slash), headers (Basic, Bearer + body key, key in the body only), encodings (gzip,
// chunked), id types and timestamp formats, and the largest batch it sends. Each must be answered 200 with every
// event published. The shapes are written from the libraries' sources (cited per case), not produced by them.
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { buildApp, type CollectorApp, InMemoryTransport, loadConfig } from '@sluice/publisher';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const KEY = 'wk_wire_3b7c';
let collector: CollectorApp;
let transport: InMemoryTransport;
let base: URL;

beforeAll(async () => {
  transport = new InMemoryTransport();
  collector = buildApp(loadConfig({ SLUICE_WRITE_KEYS: `${KEY}=wire` }), { transport });
  base = new URL(await collector.app.listen({ host: '127.0.0.1', port: 0 }));
});
afterAll(async () => {
  await collector.app.close();
});

const basic = `Basic ${Buffer.from(`${KEY}:`).toString('base64')}`;

interface Replay {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  /** Send without Content-Length, in several chunks (Transfer-Encoding: chunked), as OkHttp's gzip stream does. */
  chunked?: boolean;
}

function send(r: Replay): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: base.hostname,
        port: base.port,
        path: r.path,
        method: 'POST',
        headers: r.chunked ? r.headers : { ...r.headers, 'content-length': String(r.body.length) },
      },
      (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    if (r.chunked) {
      const step = Math.ceil(r.body.length / 4);
      for (let i = 0; i < r.body.length; i += step) req.write(r.body.subarray(i, i + step));
      req.end();
    } else req.end(r.body);
  });
}

let seq = 0;
/** A track message in a library's style: `ts` is its timestamp format, `ids` its user id (string or number). */
function message(lib: string, ts: string, userId: string | number, pad = 0): Record<string, unknown> {
  seq += 1;
  return {
    type: 'track',
    event: 'Wire Replay',
    userId,
    messageId: `${lib}-${seq}`,
    timestamp: ts,
    context: { library: { name: lib, version: '1.0.0' } },
    integrations: {},
    properties: { lib, ...(pad > 0 ? { pad: 'x'.repeat(pad) } : {}) },
  };
}

/** Messages filling `bytes` of JSON (as the libraries count them: the messages, before the envelope). */
function fill(lib: string, ts: string, bytes: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let used = 2; // "[]"
  const per = 30_000; // under the 32 KB per-message limit every library enforces
  while (used < bytes) {
    const skeleton = JSON.stringify(message(lib, ts, 'u-1', 0)).length + 11; // + ,"pad":"" and a comma
    const room = bytes - used - skeleton;
    if (room < 0) break;
    const m = message(lib, ts, 'u-1', Math.min(per, room));
    used += JSON.stringify(m).length + 1;
    out.push(m);
  }
  return out;
}

async function expectLands(r: Replay, batch: Record<string, unknown>[]): Promise<void> {
  const before = transport.messages.length;
  const res = await send(r);
  expect(res.status, res.body.slice(0, 500)).toBe(200);
  const published = transport.events().slice(before);
  expect(published.map((e) => e.messageId)).toEqual(batch.map((m) => m.messageId));
  for (const e of published) {
    expect(e).not.toHaveProperty('writeKey');
    expect(e.sourceId).toBe('wire');
  }
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('analytics-python (segment/analytics/request.py: POST /v1/batch, Basic auth, writeKey and sentAt in body)', () => {
  const ts = '2024-05-01T12:00:00.123456+00:00'; // datetime.isoformat()
  for (const path of ['/v1/batch', '/v1/batch/']) {
    it(`${path}, plain and gzip (gzip=True)`, async () => {
      for (const gzip of [false, true]) {
        const batch = [message('analytics-python', ts, 'u-py')];
        const raw = json({ batch, sentAt: ts, writeKey: KEY });
        await expectLands(
          {
            path,
            headers: {
              'content-type': 'application/json',
              'user-agent': 'analytics-python/2.3.3',
              authorization: basic,
              ...(gzip ? { 'content-encoding': 'gzip' } : {}),
            },
            body: gzip ? gzipSync(raw) : raw,
          },
          batch,
        );
      }
    });
  }
  it('OAuth: a Bearer access token, the key in the body', async () => {
    const batch = [message('analytics-python', ts, 'u-py')];
    await expectLands(
      {
        path: '/v1/batch',
        headers: {
          'content-type': 'application/json',
          authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
        },
        body: json({ batch, sentAt: ts, writeKey: KEY }),
      },
      batch,
    );
  });
  it('the largest batch: BATCH_SIZE_LIMIT = 475000 bytes of messages (consumer.py)', async () => {
    const batch = fill('analytics-python', ts, 475_000);
    await expectLands(
      {
        path: '/v1/batch',
        headers: { 'content-type': 'application/json', authorization: basic },
        body: json({ batch, sentAt: ts, writeKey: KEY }),
      },
      batch,
    );
  });
});

describe('analytics-go (analytics.go: POST /v1/batch, SetBasicAuth(writeKey, ""), RFC 3339 nanoseconds)', () => {
  const ts = '2024-05-01T12:00:00.123456789Z';
  for (const path of ['/v1/batch', '/v1/batch/']) {
    it(path, async () => {
      const batch = [message('analytics-go', ts, 'u-go')];
      await expectLands(
        {
          path,
          headers: {
            'content-type': 'application/json',
            'user-agent': 'analytics-go (version: 3.3.0)',
            authorization: basic,
          },
          body: json({
            batch,
            context: { library: { name: 'analytics-go', version: '3.3.0' } },
            messageId: 'go-batch-1',
            sentAt: ts,
          }),
        },
        batch,
      );
    });
  }
  it('the largest batch: maxBatchBytes = 500000', async () => {
    const batch = fill('analytics-go', ts, 500_000);
    await expectLands(
      {
        path: '/v1/batch',
        headers: { 'content-type': 'application/json', authorization: basic },
        body: json({ batch, sentAt: ts }),
      },
      batch,
    );
  });
});

describe('analytics-ruby (transport.rb: POST /v1/import, Basic auth, ids as given)', () => {
  const ts = '2024-05-01T12:00:00.123Z'; // iso8601(3)
  for (const path of ['/v1/import', '/v1/import/']) {
    it(`${path}, string ids`, async () => {
      const batch = [message('analytics-ruby', ts, 'u-rb')];
      await expectLands(
        {
          path,
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            'user-agent': 'analytics-ruby/2.4.0',
            authorization: basic,
          },
          body: json({ sentAt: ts, batch }),
        },
        batch,
      );
    });
  }
  it('integer ids (user_id: 42 arrives as a JSON number), every digit kept', async () => {
    // Needs the protocol change that accepts numeric ids (issue 14 item 1, sdk/src/protocol/messages.ts).
    const batch = [message('analytics-ruby', ts, 42)];
    const text = JSON.stringify({ sentAt: ts, batch }).replace(
      '"userId":42',
      '"userId":12345678901234567890',
    );
    const before = transport.messages.length;
    const res = await send({
      path: '/v1/import',
      headers: { 'content-type': 'application/json', authorization: basic },
      body: Buffer.from(text),
    });
    expect(res.status, res.body.slice(0, 300)).toBe(200);
    expect(
      transport.messages.slice(before).map((m) => m.data.includes('"userId":12345678901234567890')),
    ).toEqual([true]);
  });
  it('the largest batch: MAX_BYTES = 512000 of messages, then its envelope (~512,050 bytes)', async () => {
    // Needs the batch limit of 524,288 + 4,096 bytes (issue 14 item 3, the reliability helper's change).
    const batch = fill('analytics-ruby', ts, 512_000);
    await expectLands(
      {
        path: '/v1/import',
        headers: { 'content-type': 'application/json', authorization: basic },
        body: json({ sentAt: ts, batch }),
      },
      batch,
    );
  });
});

describe('analytics-java (SegmentService: POST v1/import/ with a trailing slash, gzip, chunked by OkHttp)', () => {
  const ts = '2024-05-01T12:00:00.123Z';
  for (const path of ['/v1/import/', '/v1/import']) {
    it(`${path}, gzip + chunked`, async () => {
      const batch = [message('analytics-java', ts, 'u-java')];
      await expectLands(
        {
          path,
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'content-encoding': 'gzip',
            'user-agent': 'analytics-java/3.5.1',
            authorization: basic,
          },
          body: gzipSync(json({ batch, sentAt: ts, sequence: 0 })),
          chunked: true,
        },
        batch,
      );
    });
  }
  it('the largest batch: 500 KB (Segment documents 500 KB per batch)', async () => {
    const batch = fill('analytics-java', ts, 500_000);
    await expectLands(
      {
        path: '/v1/import/',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', authorization: basic },
        body: gzipSync(json({ batch, sentAt: ts })),
        chunked: true,
      },
      batch,
    );
  });
});

describe('analytics-kotlin (HTTPClient.upload: POST <apiHost>/b, text/plain, writeKey in the body)', () => {
  const ts = '2024-05-01T12:00:00.123Z';
  for (const path of ['/v1/b', '/v1/b/']) {
    it(path, async () => {
      const batch = [message('analytics-kotlin', ts, 'u-kt')];
      await expectLands(
        {
          path,
          headers: { 'content-type': 'text/plain', 'user-agent': 'analytics-kotlin/1.16.0' },
          body: json({ batch, sentAt: ts, writeKey: KEY }),
        },
        batch,
      );
    });
  }
  it('the largest batch: MAX_BATCH_SIZE = 475000', async () => {
    const batch = fill('analytics-kotlin', ts, 475_000);
    await expectLands(
      {
        path: '/v1/b',
        headers: { 'content-type': 'text/plain' },
        body: json({ batch, sentAt: ts, writeKey: KEY }),
      },
      batch,
    );
  });
});

describe('analytics-swift (HTTPClient: POST <apiHost>/b, text/plain, Basic auth and writeKey in the body)', () => {
  const ts = '2024-05-01T12:00:00.123Z';
  for (const path of ['/v1/b', '/v1/b/']) {
    it(path, async () => {
      const batch = [message('analytics-swift', ts, 'u-swift')];
      await expectLands(
        {
          path,
          headers: {
            'content-type': 'text/plain',
            'accept-encoding': 'gzip',
            'user-agent': 'analytics-ios/1.5.0',
            authorization: basic,
          },
          body: json({ batch, sentAt: ts, writeKey: KEY }),
        },
        batch,
      );
    });
  }
  it('the largest batch: 475000', async () => {
    const batch = fill('analytics-swift', ts, 475_000);
    await expectLands(
      {
        path: '/v1/b',
        headers: { 'content-type': 'text/plain', authorization: basic },
        body: json({ batch, sentAt: ts, writeKey: KEY }),
      },
      batch,
    );
  });
});

describe('single-event paths, with and without the trailing slash', () => {
  const ts = '2024-05-01T12:00:00.123Z';
  const shapes: Record<string, Record<string, unknown>> = {
    track: { event: 'E' },
    identify: { traits: { a: 1 } },
    page: { name: 'P' },
    screen: { name: 'S' },
    group: { groupId: 'g1' },
    alias: { previousId: 'old' },
  };
  for (const [type, extra] of Object.entries(shapes)) {
    for (const path of [`/v1/${type}`, `/v1/${type}/`, `/v1/${type[0]}/`]) {
      it(path, async () => {
        const m = { ...message('curl', ts, 'u-1'), ...extra };
        delete m.type;
        delete m.event;
        Object.assign(m, extra);
        const before = transport.messages.length;
        const res = await send({
          path,
          headers: { 'content-type': 'application/json', authorization: basic },
          body: json(m),
        });
        expect(res.status, res.body).toBe(200);
        expect(
          transport
            .events()
            .slice(before)
            .map((e) => e.type),
        ).toEqual([type]);
      });
    }
  }
});
