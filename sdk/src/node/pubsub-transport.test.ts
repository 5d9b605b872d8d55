import { describe, expect, it } from 'vitest';
import { message } from '../core/message.ts';
import type { EnrichedEvent } from '../protocol/enriched.ts';
import { pubsubTransport } from './pubsub-transport.ts';

type Msg = { data: Buffer; attributes: Record<string, string> };

function fakePubSub(failFirst: number[] = []) {
  const published: Msg[] = [];
  let n = 0;
  const client = {
    topic: (name: string) => ({
      name,
      publishMessage: async (m: Msg) => {
        const i = n++;
        if (failFirst.includes(i)) throw Object.assign(new Error('unavailable'), { code: 14 });
        published.push(m);
        return String(i);
      },
    }),
    close: async () => {},
  };
  return { published, load: async () => client };
}

describe('pubsub transport', () => {
  it("publishes the collector's message contract: enriched JSON line, attributes type + sourceId only", async () => {
    const ps = fakePubSub();
    const t = pubsubTransport({ topic: 'sluice-events', sourceId: 'backend' }, ps.load);
    const e = message('track', { event: 'Signed Up', writeKey: 'secret' }, { userId: 'u1' }, {});
    const r = await t.send([e], '2024-05-01T12:00:01.000Z');
    expect(r).toEqual({ ok: true });
    const [m] = ps.published;
    expect(m!.attributes).toEqual({ type: 'track', sourceId: 'backend' });
    const text = m!.data.toString('utf8');
    expect(text).not.toContain('\n');
    expect(text).not.toContain('secret');
    const data = JSON.parse(text) as EnrichedEvent;
    expect(data).toMatchObject({
      type: 'track',
      event: 'Signed Up',
      userId: 'u1',
      messageId: e.messageId,
      sourceId: 'backend',
      sentAt: '2024-05-01T12:00:01.000Z',
      originalTimestamp: e.timestamp,
      timestamp: e.timestamp,
      context: expect.any(Object),
      receivedAt: expect.any(String),
    });
  });

  it('reports only the undelivered part of a batch for retry', async () => {
    const ps = fakePubSub([1]);
    const t = pubsubTransport({ topic: 'sluice-events', sourceId: 's' }, ps.load);
    const batch = [0, 1, 2].map((i) => message('track', { event: `e${i}` }, { userId: 'u' }, {}));
    const r = await t.send(batch, new Date().toISOString());
    expect(r).toMatchObject({ ok: false, retry: true, rest: [batch[1]] });
    expect(ps.published).toHaveLength(2);
  });
});
