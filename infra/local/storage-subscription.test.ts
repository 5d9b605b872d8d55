import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from './clock.ts';
import { localBucket } from './local-bucket.ts';
import type { MessageSource } from './pubsub-source.ts';
import { createStorageSubscription } from './storage-subscription.ts';
import { waitFor } from './wait-for.ts';
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

  /** A CloudEvent sink recording bucket/name#generation and the file's lines at delivery; answers 204. */
  async function recordingLoader(): Promise<{ url: string; got: { key: string; lines: string[] }[] }> {
    const got: { key: string; lines: string[] }[] = [];
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString('utf8');
      });
      req.on('end', () => {
        const d = JSON.parse(body) as { bucket: string; name: string; generation: string };
        const text = readFileSync(join(root ?? '', 'buckets', d.bucket, d.name), 'utf8');
        got.push({ key: `${d.bucket}/${d.name}#${d.generation}`, lines: text.trimEnd().split('\n') });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, got };
  }

  const restartedStandIn = (loaderUrl: string) =>
    createStorageSubscription({
      source: inMemorySource().source,
      sink: localBucket(join(root ?? '', 'buckets'), 'sluice-raw', systemClock),
      windowSeconds: 600,
      maxBytes: 1024 * 1024,
      loaderUrl,
      logger: pino({ level: 'silent' }),
    });

  // Issue 12 item 4: SIGKILL between writing (the rename) and acking; the next start delivers the file.
  it('a stand-in SIGKILLed right after the rename: the restarted one delivers that file once', async () => {
    root = await mkdtemp(join(tmpdir(), 'sluice-standin-kill-'));
    const loader = await recordingLoader();
    const fixture = fileURLToPath(new URL('./test-fixtures/standin-writer.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fixture, join(root, 'buckets'), loader.url, '40'],
      {
        stdio: 'inherit',
      },
    );
    const [, signal] = (await once(child, 'exit')) as [number | null, string | null];
    expect(signal).toBe('SIGKILL');
    expect(loader.got).toEqual([]);
    const [day] = await readdir(join(root, 'buckets', 'sluice-raw', 'raw'));
    const [file] = await readdir(join(root, 'buckets', 'sluice-raw', 'raw', day ?? ''));
    const name = `raw/${day}/${file}`;
    const { mtimeNs } = await stat(join(root, 'buckets', 'sluice-raw', name), { bigint: true });

    const standIn = restartedStandIn(loader.url);
    standIn.start();
    await waitFor(async () => (loader.got.length === 1 ? true : undefined), {
      what: 'redelivery',
      timeoutMs: 10_000,
    });
    await standIn.stop();
    expect(loader.got[0]?.key).toBe(`sluice-raw/${name}#${mtimeNs}`);
    expect(loader.got[0]?.lines).toEqual(Array.from({ length: 40 }, (_, i) => `{"messageId":"m${i}"}`));
    expect(await readdir(join(root, 'buckets', '.sluice-raw.outbox'))).toEqual([]);

    // Acknowledged: the next start delivers nothing.
    const again = restartedStandIn(loader.url);
    again.start();
    await again.flush();
    await again.stop();
    expect(loader.got).toHaveLength(1);
  });

  it('recovers a temp file a crash left in staging: cut after its last whole line, renamed, delivered', async () => {
    root = await mkdtemp(join(tmpdir(), 'sluice-standin-temp-'));
    const loader = await recordingLoader();
    const staging = join(root, 'buckets', '.sluice-raw.staging');
    await mkdir(staging, { recursive: true });
    const name = 'raw/2026-12-03/09_00_00+00:00_6f1e6b2a-9c4d-4e5f-8a7b-1c2d3e4f5a6b.ndjson';
    await writeFile(
      join(staging, `${encodeURIComponent(name)}.0b7e9c1e-1d2c-4a5b-9c8d-7e6f5a4b3c2d.tmp`),
      '{"messageId":"a"}\n{"messageId":"b"}\n{"messageId":"tor',
    );
    const standIn = restartedStandIn(loader.url);
    standIn.start();
    await waitFor(async () => (loader.got.length === 1 ? true : undefined), {
      what: 'recovery',
      timeoutMs: 10_000,
    });
    await standIn.stop();
    expect(loader.got[0]?.key).toMatch(new RegExp(`^sluice-raw/${name.replace(/[+.]/g, '\\$&')}#\\d+$`));
    expect(loader.got[0]?.lines).toEqual(['{"messageId":"a"}', '{"messageId":"b"}']);
    expect(await readdir(staging)).toEqual([]);
  });
});
