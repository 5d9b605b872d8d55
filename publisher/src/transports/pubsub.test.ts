import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type CollectorApp } from '../app.ts';
import { basic, testConfig } from '../test-support.ts';
import { type PubSubEmulator, startPubSubEmulator } from '../testing/pubsub-emulator.ts';
import { PubSubTransport } from './pubsub.ts';

const TOPIC = 'sluice-events';
const SUB = 'durability-check';
let emulator: PubSubEmulator;
let admin: PubSub;
let collector: CollectorApp;

async function createTopology(): Promise<void> {
  const [topic] = await admin.createTopic(TOPIC);
  await topic.createSubscription(SUB);
}

/** Pulls everything currently in the check subscription (acking it). */
async function drainSubscription(): Promise<
  Map<string, { attributes: Record<string, string>; data: string }>
> {
  const seen = new Map<string, { attributes: Record<string, string>; data: string }>();
  const subscription = admin.subscription(SUB);
  let empty = 0;
  while (empty < 2) {
    const messages = await new Promise<{ data: Buffer; attributes: Record<string, string> }[]>((resolve) => {
      const got: { data: Buffer; attributes: Record<string, string> }[] = [];
      const onMessage = (m: { data: Buffer; attributes: Record<string, string>; ack: () => void }) => {
        got.push({ data: m.data, attributes: m.attributes });
        m.ack();
      };
      subscription.on('message', onMessage);
      setTimeout(() => {
        subscription.removeListener('message', onMessage);
        resolve(got);
      }, 1500);
    });
    if (messages.length === 0) empty++;
    for (const m of messages) {
      const data = m.data.toString('utf8');
      seen.set((JSON.parse(data) as { messageId: string }).messageId, { attributes: m.attributes, data });
    }
  }
  await subscription.close();
  return seen;
}

let counter = 0;
function send(app: CollectorApp['app'], n = 5) {
  const batch = Array.from({ length: n }, () => ({
    type: 'track',
    event: 'Durable',
    anonymousId: 'a1',
    messageId: `d-${++counter}`,
  }));
  return app
    .inject({
      method: 'POST',
      url: '/v1/batch',
      headers: { authorization: basic('wk_test') },
      payload: { batch },
    })
    .then((res) => ({ res, ids: batch.map((e) => e.messageId) }));
}

describe('Pub/Sub transport against the real emulator', () => {
  beforeAll(async () => {
    emulator = await startPubSubEmulator();
    admin = new PubSub({ projectId: 'demo', apiEndpoint: emulator.host, emulatorMode: true });
    await createTopology();
    const config = testConfig({
      PUBSUB_EMULATOR_HOST: emulator.host,
      SLUICE_PUBSUB_TOPIC: TOPIC,
      SLUICE_PUBLISH_TIMEOUT_MS: '1500',
      SLUICE_RETRY_AFTER_SECONDS: '2',
    });
    const transport = new PubSubTransport(config.pubsub, { publishTimeoutMs: config.publishTimeoutMs });
    collector = buildApp(config, { transport });
  }, 120_000);

  afterAll(async () => {
    await collector?.app.close();
    await admin?.close();
    await emulator?.stop();
  });

  it('publishes one message per event: data = one JSON line, attributes = type + sourceId only', async () => {
    const { res, ids } = await send(collector.app, 3);
    expect(res.statusCode).toBe(200);
    expect((await collector.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    const seen = await drainSubscription();
    expect([...seen.keys()].sort()).toEqual([...ids].sort());
    for (const m of seen.values()) {
      expect(m.attributes).toEqual({ type: 'track', sourceId: 'web' });
      expect(m.data).not.toContain('\n');
      expect(m.data).not.toContain('wk_test');
    }
  });

  it('frozen broker mid-load: bounded 503s, and every event answered 200 is in Pub/Sub', async () => {
    const ok: string[] = [];
    const statuses: number[] = [];
    let running = true;
    const durations: number[] = [];
    const load = (async () => {
      while (running) {
        const started = Date.now();
        const results = await Promise.all(Array.from({ length: 4 }, () => send(collector.app)));
        durations.push(Date.now() - started);
        for (const { res, ids } of results) {
          statuses.push(res.statusCode);
          if (res.statusCode === 200) ok.push(...ids);
          else {
            expect(res.statusCode).toBe(503);
            expect(res.headers['retry-after']).toBe('2');
          }
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 500));
    emulator.pause();
    const deadline = Date.now() + 10_000;
    while (!statuses.includes(503) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(statuses).toContain(503);
    expect((await collector.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    emulator.resume();
    // recovery: 200s again
    const before = statuses.length;
    const recoverBy = Date.now() + 15_000;
    while (!statuses.slice(before).includes(200) && Date.now() < recoverBy)
      await new Promise((r) => setTimeout(r, 50));
    running = false;
    await load;
    expect(statuses.slice(before)).toContain(200);
    expect(Math.max(...durations)).toBeLessThan(1500 + 2000);
    const seen = await drainSubscription();
    const missing = ok.filter((id) => !seen.has(id));
    expect(missing).toEqual([]);
  }, 60_000);

  it('broker killed: 503 quickly; restarted: the collector recovers without a restart', async () => {
    await emulator.stop();
    const started = Date.now();
    const { res } = await send(collector.app);
    expect(res.statusCode).toBe(503);
    expect(Date.now() - started).toBeLessThan(1500 + 1000);
    await emulator.restart();
    await createTopology();
    const deadline = Date.now() + 20_000;
    let last = 0;
    let ids: string[] = [];
    while (Date.now() < deadline) {
      const r = await send(collector.app);
      last = r.res.statusCode;
      if (last === 200) {
        ids = r.ids;
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(last).toBe(200);
    const seen = await drainSubscription();
    for (const id of ids) expect(seen.has(id)).toBe(true);
  }, 90_000);
});
