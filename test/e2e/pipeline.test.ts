/**
 * The whole local pipeline, every hop real: HTTP → collector → Pub/Sub emulator → storage-subscription stand-in →
 * raw file → finalized CloudEvent → loader (functions-framework, functions/dist) → DuckDB.
 * Asserts exact rows, that a redelivered CloudEvent adds none, and that no child process survives.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  countRowsByIdPrefix,
  groupAlive,
  type LocalStack,
  loadConfig,
  pollUntil,
  startStack,
} from '@sluice/infra/local';
import { finalizedCloudEvent, type SluiceEvent } from '@sluice/sdk/protocol';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { warehouseRows } from './local-pipeline.ts';

const WRITE_KEY = 'e2e-write-key';
const T = '2024-05-01T12:00:00.000Z';
const context = { library: { name: 'sluice-e2e', version: '1.0.0' }, locale: 'de-DE' };

const BATCH: SluiceEvent[] = [
  {
    type: 'track',
    messageId: 'e2e-t1',
    userId: 'u-1',
    anonymousId: 'a-1',
    event: 'Order Completed',
    properties: { revenue: 19.99, currency: 'EUR' },
    timestamp: T,
    context,
  },
  {
    type: 'track',
    messageId: 'e2e-t2',
    anonymousId: 'a-2',
    event: 'Order Completed',
    properties: { revenue: 5.5, currency: 'USD' },
    timestamp: T,
    context,
  },
  {
    type: 'identify',
    messageId: 'e2e-i1',
    userId: 'u-1',
    traits: { plan: 'pro', email: 'u1@example.com' },
    timestamp: T,
    context,
  },
  {
    type: 'identify',
    messageId: 'e2e-i2',
    anonymousId: 'a-2',
    traits: { plan: 'free' },
    timestamp: T,
    context,
  },
  {
    type: 'page',
    messageId: 'e2e-p1',
    userId: 'u-1',
    name: 'Pricing',
    properties: { path: '/pricing' },
    timestamp: T,
    context,
  },
  {
    type: 'page',
    messageId: 'e2e-p2',
    anonymousId: 'a-2',
    name: 'Home',
    properties: { path: '/' },
    timestamp: T,
  },
  { type: 'screen', messageId: 'e2e-s1', userId: 'u-3', name: 'Settings', timestamp: T, context },
  {
    type: 'group',
    messageId: 'e2e-g1',
    userId: 'u-1',
    groupId: 'g-1',
    traits: { name: 'Acme' },
    timestamp: T,
  },
  { type: 'alias', messageId: 'e2e-a1', userId: 'u-1', previousId: 'a-1', timestamp: T },
];
/** Sent alone through `POST /v1/track`. */
const SINGLE_TRACK = {
  messageId: 'e2e-t3',
  userId: 'u-3',
  event: 'Signed Up',
  properties: { plan: 'team' },
  timestamp: T,
  context,
};

const EXPECTED_COUNTS = {
  tracks: 3,
  identifies: 2,
  pages: 2,
  screens: 1,
  groups: 1,
  aliases: 1,
  order_completed: 2,
  signed_up: 1,
};

const auth = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;

async function post(url: string, body: unknown): Promise<number> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  return response.status;
}

describe('local pipeline end to end (emulator → stand-in → loader → DuckDB)', () => {
  let dir: string;
  let stack: LocalStack | undefined;
  let counts: Record<string, number> = {};
  const rows = (sql: string) => warehouseRows(stack!.duckdbPath, sql);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-pipeline-e2e-'));
    const config = loadConfig({
      ...process.env,
      SLUICE_DATA_DIR: dir,
      SLUICE_WINDOW_SECONDS: '1',
      SLUICE_WRITE_KEY: WRITE_KEY,
      SLUICE_TRANSPORT: 'pubsub',
    });
    stack = await startStack({ config, logger: pino({ level: 'error' }), collectorPort: 0 });
    expect(await post(`${stack.collectorUrl}/v1/batch`, { batch: BATCH })).toBe(200);
    expect(await post(`${stack.collectorUrl}/v1/track`, SINGLE_TRACK)).toBe(200);
    const duckdbPath = stack.duckdbPath;
    counts = await pollUntil(
      () => countRowsByIdPrefix(duckdbPath, 'e2e-'),
      (c) => Object.entries(EXPECTED_COUNTS).every(([t, n]) => (c[t] ?? 0) >= n),
      { initial: counts, timeoutMs: 60_000 },
    );
  });

  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads exactly what was sent: rows per table', () => {
    expect(counts).toMatchObject(EXPECTED_COUNTS);
  });

  it('writes Segment columns on tracks: id, user_id, anonymous_id, event, received_at, context_*', async () => {
    const tracks = await rows(
      'SELECT id, user_id, anonymous_id, event, event_text, context_library_name, context_locale, context_ip, ' +
        'source_id, CAST(received_at AS VARCHAR) AS received_at, CAST("timestamp" AS VARCHAR) AS ts, ' +
        'CAST(epoch_ms(original_timestamp) AS DOUBLE) AS original_ms, _sluice_load_id FROM tracks ORDER BY id',
    );
    expect(tracks.map(({ received_at, ts, original_ms, _sluice_load_id, ...rest }) => rest)).toEqual([
      {
        id: 'e2e-t1',
        user_id: 'u-1',
        anonymous_id: 'a-1',
        event: 'order_completed',
        event_text: 'Order Completed',
        context_library_name: 'sluice-e2e',
        context_locale: 'de-DE',
        context_ip: '127.0.0.1',
        source_id: 'local',
      },
      {
        id: 'e2e-t2',
        user_id: null,
        anonymous_id: 'a-2',
        event: 'order_completed',
        event_text: 'Order Completed',
        context_library_name: 'sluice-e2e',
        context_locale: 'de-DE',
        context_ip: '127.0.0.1',
        source_id: 'local',
      },
      {
        id: 'e2e-t3',
        user_id: 'u-3',
        anonymous_id: null,
        event: 'signed_up',
        event_text: 'Signed Up',
        context_library_name: 'sluice-e2e',
        context_locale: 'de-DE',
        context_ip: '127.0.0.1',
        source_id: 'local',
      },
    ]);
    for (const row of tracks) {
      expect(String(row.received_at)).toMatch(/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}/);
      expect(row.ts).not.toBeNull();
      expect(row.original_ms).toBe(Date.parse(T));
      expect(row._sluice_load_id).toEqual(expect.any(String));
    }
  });

  it('puts track properties on the event table, traits on identifies, properties on pages', async () => {
    expect(await rows('SELECT id, revenue, currency FROM order_completed ORDER BY id')).toEqual([
      { id: 'e2e-t1', revenue: 19.99, currency: 'EUR' },
      { id: 'e2e-t2', revenue: 5.5, currency: 'USD' },
    ]);
    expect(await rows('SELECT id, user_id, anonymous_id, plan FROM identifies ORDER BY id')).toEqual([
      { id: 'e2e-i1', user_id: 'u-1', anonymous_id: null, plan: 'pro' },
      { id: 'e2e-i2', user_id: null, anonymous_id: 'a-2', plan: 'free' },
    ]);
    expect(await rows('SELECT id, name, path FROM pages ORDER BY id')).toEqual([
      { id: 'e2e-p1', name: 'Pricing', path: '/pricing' },
      { id: 'e2e-p2', name: 'Home', path: '/' },
    ]);
  });

  it('a redelivered finalized CloudEvent (same id and generation) adds no rows', async () => {
    const delivered = stack!.standIn!.stats.lastDelivered;
    expect(delivered.length).toBeGreaterThan(0);
    for (const object of delivered) {
      const { headers, body } = finalizedCloudEvent(object);
      const response = await fetch(stack!.loaderUrl, { method: 'POST', headers, body });
      await response.arrayBuffer();
      expect(response.status).toBeLessThan(300);
    }
    expect(await countRowsByIdPrefix(stack!.duckdbPath, 'e2e-')).toEqual(counts);
  });

  it('stop() leaves no child process running (emulator Java, collector, loader)', async () => {
    const s = stack!;
    expect(s.processes.map((p) => p.name).sort()).toEqual(['collector', 'emulator', 'loader']);
    await s.stop();
    stack = undefined;
    expect(s.processes.filter((p) => groupAlive(p.pid))).toEqual([]);
  });
});
