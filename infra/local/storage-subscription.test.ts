import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from './clock.ts';
import { localBucket } from './local-bucket.ts';
import type { MessageSource } from './pubsub-source.ts';
import { createStorageSubscription } from './storage-subscription.ts';
import type { WindowMessage } from './window-writer.ts';

/** An in-memory message source: the test pushes messages; acks and nacks are recorded. */
function inMemorySource() {
  let deliver: ((m: WindowMessage) => void) | undefined;
  const acked: string[] = [];
  const nacked: string[] = [];
  let stopped = false;
  const source: MessageSource = {
    start(onMessage) {
      deliver = onMessage;
    },
    async stop() {
      stopped = true;
    },
  };
  const publish = (data: string): void => {
    deliver?.({ data: Buffer.from(data), ack: () => acked.push(data), nack: () => nacked.push(data) });
  };
  return { source, publish, acked, nacked, isStopped: () => stopped };
}

describe('storage-subscription stand-in (in-memory source)', () => {
  let root: string | undefined;
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('writes a window file, acks, then POSTs its finalized event (retrying a 503) and reads back the exact file', async () => {
    root = await mkdtemp(join(tmpdir(), 'sluice-standin-'));
    const bodies: { status: number; name: string; fileAtDelivery: string }[] = [];
    let calls = 0;
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString('utf8');
      });
      req.on('end', () => {
        calls += 1;
        const data = JSON.parse(body) as { bucket: string; name: string };
        const status = calls === 1 ? 503 : 204;
        const fileAtDelivery = readFileSync(join(root!, 'buckets', data.bucket, data.name), 'utf8');
        bodies.push({ status, name: data.name, fileAtDelivery });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const mem = inMemorySource();
    const standIn = createStorageSubscription({
      source: mem.source,
      sink: localBucket(join(root, 'buckets'), 'sluice-raw', systemClock),
      windowSeconds: 600,
      maxBytes: 1024 * 1024,
      loaderUrl: `http://127.0.0.1:${port}/`,
      logger: pino({ level: 'silent' }),
      delivery: { baseDelayMs: 1, maxDelayMs: 5 },
    });
    standIn.start();
    mem.publish('{"id":1}');
    mem.publish('{"id":2}');
    expect(mem.acked).toEqual([]);
    await standIn.flush();
    expect(mem.acked).toEqual(['{"id":1}', '{"id":2}']);
    expect(bodies.map((b) => b.status)).toEqual([503, 204]);
    expect(bodies[0]?.name).toMatch(
      /^raw\/\d{4}-\d{2}-\d{2}\/\d{2}_\d{2}_\d{2}\+00:00_[0-9a-f-]{36}\.ndjson$/,
    );
    expect(bodies[1]?.fileAtDelivery).toBe('{"id":1}\n{"id":2}\n');
    expect(standIn.stats).toMatchObject({ files: 1, delivered: 1, undelivered: [] });
    await standIn.stop();
    expect(mem.isStopped()).toBe(true);
    mem.publish('{"id":3}');
    expect(mem.nacked).toEqual(['{"id":3}']);
  });
});
