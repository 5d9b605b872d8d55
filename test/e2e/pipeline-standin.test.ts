/**
 * The local topology without the real loader: collector → Pub/Sub emulator → storage-subscription stand-in →
 * a fake CloudEvent function served by functions-framework (fails each file's first delivery, so Eventarc-style
 * retry is exercised). Checks the raw files byte for byte and that nothing is left running.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  groupAlive,
  type LocalStack,
  loadConfig,
  pollUntil,
  sendEvents,
  startStack,
  syntheticEvents,
} from '@sluice/infra/local';
import { DEFAULT_RAW_NAMING, parseRawObjectTime } from '@sluice/sdk/protocol';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const FAKE_LOADER = `
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
const seen = new Set();
export function loadEvents(event) {
  const data = event.data;
  if (!seen.has(event.id)) {
    seen.add(event.id);
    throw new Error('first delivery fails on purpose');
  }
  const content = readFileSync(join(process.env.SLUICE_BUCKETS_DIR, data.bucket, data.name), 'utf8');
  appendFileSync(join(process.env.SLUICE_DATA_DIR, 'deliveries.ndjson'),
    JSON.stringify({ id: event.id, type: event.type, bucket: data.bucket, name: data.name,
      generation: data.generation, size: data.size, content }) + '\\n');
}
`;

interface Delivery {
  id: string;
  type: string;
  bucket: string;
  name: string;
  generation: string;
  size: string;
  content: string;
}

async function readDeliveries(dataDir: string): Promise<Delivery[]> {
  const text = await readFile(join(dataDir, 'deliveries.ndjson'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Delivery);
}

describe('local topology with the Pub/Sub emulator (fake loader)', () => {
  let dir: string;
  let stack: LocalStack | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-standin-e2e-'));
    await writeFile(join(dir, 'fake-loader.mjs'), FAKE_LOADER);
    const config = loadConfig({
      ...process.env,
      SLUICE_DATA_DIR: join(dir, 'data'),
      SLUICE_WINDOW_SECONDS: '1',
      SLUICE_WRITE_KEY: 'standin-key',
      SLUICE_TRANSPORT: 'pubsub',
    });
    stack = await startStack({
      config,
      logger: pino({ level: 'error' }),
      collectorPort: 0,
      loaderSource: join(dir, 'fake-loader.mjs'),
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes every published event, one JSON line each, into window files, then delivers them (retried)', async () => {
    const s = stack!;
    const events = syntheticEvents({ count: 120, runId: 'standin', now: new Date() });
    await sendEvents(events, { collectorUrl: s.collectorUrl, writeKey: s.writeKey, batchSize: 40 });
    const deliveries = await pollUntil(
      () => readDeliveries(s.dataDir),
      (d) => d.reduce((n, x) => n + x.content.split('\n').length - 1, 0) >= events.length,
      { initial: [], intervalMs: 100, timeoutMs: 60_000 },
    );

    const lines = deliveries.flatMap((d) => d.content.split('\n').slice(0, -1));
    expect(lines).toHaveLength(events.length);
    const ids = lines.map((l) => (JSON.parse(l) as { messageId: string }).messageId).sort();
    expect(ids).toEqual(events.map((e) => e.messageId).sort());
    for (const line of lines) {
      const parsed = JSON.parse(line) as { receivedAt?: string; sourceId?: string };
      expect(parsed.receivedAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      expect(parsed.sourceId).toBe('local');
    }
    for (const d of deliveries) {
      expect(d.content.endsWith('\n')).toBe(true);
      expect(d.type).toBe('google.cloud.storage.object.v1.finalized');
      expect(d.id).toBe(`${d.bucket}/${d.name}#${d.generation}`);
      expect(d.bucket).toBe('sluice-raw');
      expect(parseRawObjectTime(DEFAULT_RAW_NAMING, d.name)).toBeInstanceOf(Date);
      const onDisk = await readFile(join(s.rawBucketDir, d.name));
      expect(onDisk.toString('utf8')).toBe(d.content);
      expect(Number(d.size)).toBe(onDisk.byteLength);
    }
    expect(s.standIn?.stats.undelivered).toEqual([]);
  }, 90_000);

  it('stop() ends every child process group, the emulator’s Java process included', async () => {
    const s = stack!;
    expect(s.processes.map((p) => p.name).sort()).toEqual(['collector', 'emulator', 'loader']);
    expect(s.processes.every((p) => groupAlive(p.pid))).toBe(true);
    await s.stop();
    stack = undefined;
    expect(s.processes.filter((p) => groupAlive(p.pid))).toEqual([]);
  });
});
