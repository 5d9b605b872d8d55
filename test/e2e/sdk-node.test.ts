// The Node SDK against the real collector (HTTP, gzip) and straight into the real gcloud Pub/Sub emulator.
import { PubSub } from '@google-cloud/pubsub';
import { buildApp, InMemoryTransport, loadConfig } from '@sluice/publisher';
import { type PubSubEmulator, startPubSubEmulator } from '@sluice/publisher/testing';
import { createNodeAnalytics } from '@sluice/sdk/node';
import { checkEvent, type EnrichedEvent } from '@sluice/sdk/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const KEY = 'wk_node';

async function until<T>(what: string, f: () => T | Promise<T>, ms = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('node SDK -> collector (HTTP)', () => {
  let transport: InMemoryTransport;
  let collector: ReturnType<typeof buildApp>;
  let host = '';
  const statuses: number[] = [];
  beforeAll(async () => {
    transport = new InMemoryTransport();
    collector = buildApp(
      loadConfig({
        SLUICE_WRITE_KEYS: `${KEY}=backend`,
        SLUICE_RETRY_AFTER_SECONDS: '1',
        SLUICE_PUBLISH_TIMEOUT_MS: '300',
      }),
      { transport },
    );
    collector.app.addHook('onResponse', async (_req, reply) => void statuses.push(reply.statusCode));
    host = await collector.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await collector?.app.close();
  });

  it('delivers every event, gzipped, in batches; closeAndFlush resolves after the last one is accepted', async () => {
    transport.messages.length = 0;
    const a = createNodeAnalytics({ writeKey: KEY, host, flushAt: 5 });
    for (let i = 0; i < 12; i++) a.track('Job Ran', { i }, { userId: `u${i % 3}` });
    a.identify('u1', { plan: 'pro' });
    await a.closeAndFlush({ timeout: 10_000 });
    const events = transport.events();
    expect(events.filter((e) => e.event === 'Job Ran')).toHaveLength(12);
    expect(events.find((e) => e.type === 'identify')).toMatchObject({ userId: 'u1', sourceId: 'backend' });
    for (const e of events) expect(checkEvent(e)).toMatchObject({ ok: true });
  });

  it('retries a 503 (Pub/Sub down at the collector) until the collector accepts', async () => {
    transport.messages.length = 0;
    statuses.length = 0;
    transport.failWith = new Error('broker down');
    const a = createNodeAnalytics({ writeKey: KEY, host, flushAt: 1, retryBase: 100 });
    a.track('Needs Retry', {}, { anonymousId: 'anon-1' });
    const closing = a.closeAndFlush({ timeout: 15_000 });
    await until('a 503', () => statuses.includes(503));
    transport.failWith = undefined;
    await closing;
    expect(transport.events().filter((e) => e.event === 'Needs Retry')).toHaveLength(1);
  });
});

describe('node SDK -> Pub/Sub emulator (direct transport)', () => {
  let emulator: PubSubEmulator | undefined;
  let apiEndpoint = '';
  let client: PubSub;
  beforeAll(async () => {
    emulator = await startPubSubEmulator({ readyTimeoutMs: 90_000 });
    apiEndpoint = emulator.host;
    client = new PubSub({ projectId: 'demo', apiEndpoint, emulatorMode: true });
  });
  afterAll(async () => {
    await client?.close();
    await emulator?.stop();
  });

  it("publishes messages matching the collector's Pub/Sub contract", async () => {
    const [topic] = await client.createTopic('sdk-direct');
    const [sub] = await topic.createSubscription('sdk-direct-sub');
    const a = createNodeAnalytics({
      transport: 'pubsub',
      pubsub: {
        topic: 'sdk-direct',
        sourceId: 'backend',
        projectId: 'demo',
        clientOptions: { apiEndpoint, emulatorMode: true },
      },
    });
    a.track('Invoice Paid', { amount: 12.5 }, { userId: 'u-9' });
    a.identify('u-9', { plan: 'team' });
    await a.closeAndFlush({ timeout: 20_000 });

    const got: { data: string; attributes: Record<string, string> }[] = [];
    sub.on('message', (m: { data: Buffer; attributes: Record<string, string>; ack(): void }) => {
      got.push({ data: m.data.toString('utf8'), attributes: m.attributes });
      m.ack();
    });
    await until('2 messages', () => got.length >= 2, 30_000);
    await sub.close();
    for (const m of got) {
      expect(m.data).not.toContain('\n');
      expect(Object.keys(m.attributes).sort()).toEqual(['sourceId', 'type']);
      const e = JSON.parse(m.data) as EnrichedEvent;
      expect(m.attributes).toEqual({ type: e.type, sourceId: 'backend' });
      expect(e).toMatchObject({
        messageId: expect.any(String),
        receivedAt: expect.any(String),
        timestamp: expect.any(String),
        sourceId: 'backend',
        context: { library: { name: '@sluice/sdk' } },
        userId: 'u-9',
      });
      expect(checkEvent(e)).toMatchObject({ ok: true });
    }
    expect(got.map((m) => JSON.parse(m.data).type).sort()).toEqual(['identify', 'track']);
  });
});
