import { gzipSync } from 'node:zlib';
import { isDateTime } from '@sluice/sdk/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, type CollectorApp } from './app.ts';
import { MAX_REQUEST_BYTES } from './body.ts';
import { basic, fixedClock, testConfig } from './test-support.ts';
import { InMemoryTransport } from './transports/in-memory.ts';

let current: CollectorApp | undefined;
function setup() {
  const transport = new InMemoryTransport();
  current = buildApp(testConfig(), { transport, clock: fixedClock('2024-05-01T12:00:00.000Z') });
  return { app: current.app, transport };
}
afterEach(async () => {
  await current?.app.close();
  current = undefined;
});

const headers = { authorization: basic('wk_test'), 'content-type': 'application/json' };
const post = (
  app: CollectorApp['app'],
  url: string,
  payload: string | Buffer,
  extra: Record<string, string> = {},
) => app.inject({ method: 'POST', url, headers: { ...headers, ...extra }, payload });
const track = (id: string, more = '') =>
  `{"type":"track","event":"E","anonymousId":"a","messageId":"${id}"${more}}`;
const NUMBERS = '{"n":9007199254740993,"m":12345678901234567890123,"inf":1e400,"z":-0,"e":1E+2,"f":0.10}';

describe('the client text reaches the raw line', () => {
  it('keeps every digit of every number (batch, single event, gzip)', async () => {
    const { app, transport } = setup();
    const batch = await post(app, '/v1/batch', `{"batch":[${track('b1', `,"properties":${NUMBERS}`)}]}`);
    expect(batch.statusCode).toBe(200);
    const single = await post(app, '/v1/track', `{"event":"E","userId":"u","properties":${NUMBERS}}`);
    expect(single.statusCode).toBe(200);
    const gz = await post(app, '/v1/batch', gzipSync(`{"batch":[${track('g1', `,"traits":${NUMBERS}`)}]}`), {
      'content-encoding': 'gzip',
    });
    expect(gz.statusCode).toBe(200);
    const lines = transport.messages.map((m) => m.data);
    expect(lines[0]).toContain(`"properties":${NUMBERS}`);
    expect(lines[1]).toContain(`"properties":${NUMBERS}`);
    expect(lines[2]).toContain(`"traits":${NUMBERS}`);
    for (const line of lines) expect(line).not.toMatch(/[\n\r]/);
  });

  it('keeps big integers inside context while adding context.ip, and merges the batch context by text', async () => {
    const { app, transport } = setup();
    const res = await post(
      app,
      '/v1/batch',
      `{"context":{"big":123456789012345678901,"a":0},"batch":[${track('c1', ',"context":{"a":-0,"x":1e400}')}]}`,
    );
    expect(res.statusCode).toBe(200);
    expect(transport.messages[0]?.data).toContain(
      '"context":{"big":123456789012345678901,"a":-0,"x":1e400,"ip":"127.0.0.1"}',
    );
  });

  it('makes a pretty-printed request one line per event', async () => {
    const { app, transport } = setup();
    const body = JSON.stringify(
      { batch: [{ type: 'track', event: 'E\nF', anonymousId: 'a', properties: { n: 1 } }] },
      null,
      2,
    );
    expect((await post(app, '/v1/batch', body)).statusCode).toBe(200);
    const data = transport.messages[0]?.data ?? '';
    expect(data).not.toMatch(/[\n\r]/);
    expect(JSON.parse(data)).toMatchObject({ event: 'E\nF', properties: { n: 1 } });
  });
});

describe('collector and loader agree on event time', () => {
  it('answers 200 and writes a loadable timestamp (receivedAt) for timestamp 9999 with sentAt 0000', async () => {
    const { app, transport } = setup();
    const res = await post(
      app,
      '/v1/batch',
      `{"batch":[${track('t1', ',"timestamp":"9999-12-31T23:59:59.999Z","sentAt":"0000-01-01T00:00:00.000Z"')}]}`,
    );
    expect(res.statusCode).toBe(200);
    const event = JSON.parse(transport.messages[0]?.data ?? '{}') as Record<string, string>;
    expect(event.timestamp).toBe('2024-05-01T12:00:00.000Z');
    expect(event.originalTimestamp).toBe('9999-12-31T23:59:59.999Z');
    expect(isDateTime(event.timestamp as string)).toBe(true);
  });

  it('refuses a batch whose sentAt or integrations default would make its events invalid', async () => {
    const { app, transport } = setup();
    const sentAt = await post(app, '/v1/batch', `{"sentAt":"2024-05-01","batch":[${track('s1')}]}`);
    expect(sentAt.statusCode).toBe(400);
    expect(sentAt.json()).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_BATCH_SCHEMA' });
    const integrations = await post(app, '/v1/batch', `{"integrations":{"All":1},"batch":[${track('s2')}]}`);
    expect(integrations.statusCode).toBe(400);
    expect(integrations.json().message).toContain('/integrations/All');
    const ignored = await post(
      app,
      '/v1/batch',
      `{"sentAt":5,"context":"x","integrations":[],"batch":[${track('s3')}]}`,
    );
    expect(ignored.statusCode).toBe(200);
    expect(transport.events().map((e) => e.messageId)).toEqual(['s3']);
  });
});

const nested = (levels: number): string => `${'['.repeat(levels)}${']'.repeat(levels)}`;

describe('over-deep events', () => {
  it('accepts 64 levels and rejects 65 with a coded 400 naming the key', async () => {
    const { app, transport } = setup();
    // The event is level 1, properties level 2: 62 more levels of arrays make 64.
    const ok = await post(app, '/v1/track', `{"event":"E","userId":"u","properties":{"a":${nested(62)}}}`);
    expect(ok.statusCode).toBe(200);
    const deep = await post(app, '/v1/track', `{"event":"E","userId":"u","properties":{"a":${nested(63)}}}`);
    expect(deep.statusCode).toBe(400);
    expect(deep.json()).toMatchObject({
      code: 'SLUICE_ERR_PUBLISHER_EVENT_TOO_DEEP',
      retryable: false,
      rejected: [{ index: 0, issues: [{ path: '/properties' }] }],
    });
    expect(transport.messages).toHaveLength(1);
  });

  it('rejects a 5,000-level event in a batch and publishes its valid siblings', async () => {
    const { app, transport } = setup();
    const body = `{"batch":[${track('d0')},${track('d1', `,"properties":{"x":${nested(5000)}}`)},${track('d2')}]}`;
    const res = await post(app, '/v1/batch', body);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'SLUICE_ERR_PUBLISHER_BATCH_PARTIAL',
      accepted: 2,
      rejected: [{ index: 1, code: 'SLUICE_ERR_PUBLISHER_EVENT_TOO_DEEP' }],
    });
    expect(transport.events().map((e) => e.messageId)).toEqual(['d0', 'd2']);
  });

  it('answers 400, not 500, for an event as deep as the body limit allows (260,000 levels)', async () => {
    const { app, transport } = setup();
    const res = await post(
      app,
      '/v1/batch',
      `{"batch":[${track('z0')},${track('z1', `,"properties":{"x":${nested(260_000)}}`)}]}`,
    );
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_BATCH_PARTIAL', accepted: 1 });
    expect(transport.events().map((e) => e.messageId)).toEqual(['z0']);
  });

  it('answers the common code when every event is rejected for it, and refuses a too-deep batch context', async () => {
    const { app } = setup();
    const all = await post(
      app,
      '/v1/batch',
      `{"batch":[${track('x', `,"properties":{"a":${nested(100)}}`)}]}`,
    );
    expect(all.statusCode).toBe(400);
    expect(all.json()).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_EVENT_TOO_DEEP', accepted: 0 });
    const ctx = await post(app, '/v1/batch', `{"context":{"a":${nested(63)}},"batch":[${track('y')}]}`);
    expect(ctx.statusCode).toBe(400);
    expect(ctx.json()).toMatchObject({ code: 'SLUICE_ERR_PUBLISHER_EVENT_TOO_DEEP' });
  });
});

describe('lone surrogates', () => {
  it.each([
    ['a value', '{"type":"track","event":"\\ud800","anonymousId":"a","messageId":"l1"}', '/event'],
    [
      'a key',
      '{"type":"track","event":"E","anonymousId":"a","messageId":"l1","properties":{"\\udc00":1}}',
      '/properties',
    ],
    [
      'a context value',
      '{"type":"track","event":"E","anonymousId":"a","messageId":"l1","context":{"x":["\\ud83dx"]}}',
      '/context',
    ],
  ])('rejects one in %s with a coded 400 and publishes the siblings', async (_, bad, path) => {
    const { app, transport } = setup();
    const res = await post(app, '/v1/batch', `{"batch":[${track('l0')},${bad},${track('l2')}]}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'SLUICE_ERR_PUBLISHER_BATCH_PARTIAL',
      accepted: 2,
      rejected: [{ index: 1, code: 'SLUICE_ERR_PUBLISHER_LONE_SURROGATE', issues: [{ path }] }],
    });
    expect(transport.events().map((e) => e.messageId)).toEqual(['l0', 'l2']);
  });

  it('accepts a surrogate pair, escaped or not, and keeps it as written', async () => {
    const { app, transport } = setup();
    const res = await post(
      app,
      '/v1/batch',
      `{"batch":[${track('p1', ',"properties":{"e":"\\ud83d\\ude00","f":"😀"}')}]}`,
    );
    expect(res.statusCode).toBe(200);
    expect(transport.messages[0]?.data).toContain('"properties":{"e":"\\ud83d\\ude00","f":"😀"}');
  });

  it('answers 400 LONE_SURROGATE for a single event', async () => {
    const { app } = setup();
    const res = await post(app, '/v1/track', '{"event":"\\ud800","userId":"u"}');
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('SLUICE_ERR_PUBLISHER_LONE_SURROGATE');
  });
});

describe('request size', () => {
  /** A batch body of exactly `bytes` bytes: events of ~20 KB padded by the last one's filler. */
  function batchOfBytes(bytes: number): string {
    const events: string[] = [];
    const filler = 'x'.repeat(20_000);
    const head = '{"batch":[';
    let size = head.length + 2;
    let i = 0;
    for (;;) {
      const e = track(`s${i++}`, `,"properties":{"f":"${filler}"}`);
      if (size + e.length + 1 + 200 > bytes) break;
      events.push(e);
      size += e.length + 1;
    }
    const last = track('last', ',"properties":{"f":"');
    const pad = bytes - size - last.length - '"}}'.length;
    events.push(`${last}${'y'.repeat(pad)}"}}`);
    return `${head}${events.join(',')}]}`;
  }

  it('accepts 524,288 + 4,096 bytes (analytics-ruby full batch is ~512,050) and refuses one byte more with 413', async () => {
    const { app, transport } = setup();
    const ruby = batchOfBytes(512_050);
    expect(Buffer.byteLength(ruby)).toBe(512_050);
    expect((await post(app, '/v1/batch', ruby)).statusCode).toBe(200);
    const max = batchOfBytes(MAX_REQUEST_BYTES);
    expect(Buffer.byteLength(max)).toBe(524_288 + 4_096);
    expect((await post(app, '/v1/batch', max)).statusCode).toBe(200);
    const over = batchOfBytes(MAX_REQUEST_BYTES + 1);
    const res = await post(app, '/v1/batch', over);
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('SLUICE_ERR_PUBLISHER_BATCH_TOO_LARGE');
    const gzipped = await post(app, '/v1/batch', gzipSync(over), { 'content-encoding': 'gzip' });
    expect(gzipped.statusCode).toBe(413);
    const count = (body: string): number => (JSON.parse(body) as { batch: unknown[] }).batch.length;
    expect(transport.messages.length).toBe(count(ruby) + count(max));
  });
});

describe('two big batches at once', () => {
  it('publishes every event of both, each line with its own request digits', async () => {
    const { app, transport } = setup();
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    /** ~500 KB: 400 events whose big integers carry the request's tag and the event's index. */
    const body = (tag: number): string =>
      `{"context":{"req":${tag}00000000000000000001},"batch":[${Array.from({ length: 400 }, (_, i) =>
        track(`r${tag}-${i}`, `,"properties":{"n":${tag}9007199254740993${i},"pad":"${'p'.repeat(1100)}"}`),
      ).join(',')}]}`;
    const bodies = [body(1), body(2)];
    for (const b of bodies) expect(b.length).toBeGreaterThan(450_000);
    const answers = await Promise.all(
      bodies.map((b) => fetch(`${url}/v1/batch`, { method: 'POST', headers, body: b }).then((r) => r.status)),
    );
    expect(answers).toEqual([200, 200]);
    expect(transport.messages).toHaveLength(800);
    for (const m of transport.messages) {
      const event = JSON.parse(m.data) as { messageId: string };
      const [tag, i] = event.messageId.slice(1).split('-');
      expect(m.data).toContain(`"properties":{"n":${tag}9007199254740993${i},`);
      expect(m.data).toContain(`"context":{"req":${tag}00000000000000000001,"ip":"127.0.0.1"}`);
    }
  });
});
