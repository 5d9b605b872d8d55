import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { STORAGE_FINALIZED_TYPE } from '@sluice/sdk/protocol';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { backoffMs, type DeliveryOptions, deliverFinalized } from './cloud-event-delivery.ts';
import { isLocalError } from './errors.ts';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A loader stand-in answering the given statuses in turn (the last one repeats). */
async function fakeLoader(
  statuses: number[],
): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      const status = statuses[Math.min(received.length, statuses.length) - 1] ?? 500;
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, received, server };
}

const object = {
  bucket: 'sluice-raw',
  name: 'raw/2024-03-05/07_08_09+00:00_0f0e0d0c-0000-4000-8000-000000000001.ndjson',
  generation: '1709622489000000',
  size: 42,
  time: new Date('2024-03-05T07:08:14.000Z'),
};

describe('finalized CloudEvent delivery', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  });

  const options = (url: string, delays: number[], maxAttempts = 0): DeliveryOptions => ({
    url,
    fetch: globalThis.fetch,
    sleep: async (ms) => {
      delays.push(ms);
    },
    maxAttempts,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    attemptTimeoutMs: 5000,
    random: () => 1,
    logger: pino({ level: 'silent' }),
  });

  it('POSTs a binary-mode finalized event and retries 5xx with growing backoff until 2xx', async () => {
    const loader = await fakeLoader([500, 503, 204]);
    server = loader.server;
    const delays: number[] = [];
    const attempts = await deliverFinalized(
      object,
      options(loader.url, delays),
      new AbortController().signal,
    );
    expect(attempts).toBe(3);
    expect(delays).toEqual([100, 200]);
    expect(loader.received).toHaveLength(3);
    const ids = new Set(loader.received.map((r) => r.headers['ce-id']));
    expect(ids).toEqual(new Set([`sluice-raw/${object.name}#1709622489000000`]));
    const first = loader.received[0]!;
    expect(first.headers['ce-type']).toBe(STORAGE_FINALIZED_TYPE);
    expect(first.headers['ce-specversion']).toBe('1.0');
    expect(first.headers['ce-source']).toBe('//storage.googleapis.com/projects/_/buckets/sluice-raw');
    expect(first.headers['ce-subject']).toBe(`objects/${object.name}`);
    expect(first.headers['content-type']).toBe('application/json');
    expect(JSON.parse(first.body)).toMatchObject({
      bucket: 'sluice-raw',
      name: object.name,
      generation: '1709622489000000',
      size: '42',
    });
  });

  it('retries a refused connection, and gives up with a coded error after maxAttempts', async () => {
    const loader = await fakeLoader([204]);
    const url = loader.url;
    await new Promise((resolve) => loader.server.close(resolve));
    const delays: number[] = [];
    const failure = await deliverFinalized(
      object,
      options(url, delays, 3),
      new AbortController().signal,
    ).catch((e: unknown) => e);
    expect(isLocalError(failure, 'SLUICE_ERR_LOCAL_DELIVERY_FAILED')).toBe(true);
    expect(delays).toEqual([100, 200]);
  });

  it('stops retrying when aborted', async () => {
    const loader = await fakeLoader([503]);
    server = loader.server;
    const controller = new AbortController();
    const opts = options(loader.url, []);
    opts.sleep = async () => {
      controller.abort(new Error('stopped'));
    };
    await expect(deliverFinalized(object, opts, controller.signal)).rejects.toThrow('stopped');
    expect(loader.received).toHaveLength(1);
  });

  it('caps the backoff and jitters within [ceiling/2, ceiling]', () => {
    const base = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffMs(1, { ...base, random: () => 0 })).toBe(50);
    expect(backoffMs(4, { ...base, random: () => 1 })).toBe(800);
    expect(backoffMs(10, { ...base, random: () => 1 })).toBe(1000);
  });
});
