// `npm run bench -- traffic`: bytes per event AS PUBLISHED (what Pub/Sub and the Cloud Storage subscription bill),
// measured by sending sample traffic through the real collector (buildApp, in process, in-memory transport that
// keeps every message) and sizing each published message the way Pub/Sub bills it. Three samples:
// - browser: the load generator's mix of track/page/identify/screen/group/alias with browser context (page,
//   userAgent, locale, campaign), sent in batches as the browser SDK does;
// - server: the same events as a server SDK sends them (no page, no userAgent; library @sluice/sdk node);
// - e-commerce: analytics.js-shaped Order Completed / Product Viewed events with products arrays (~717 B raw).
// Pub/Sub's billable message size: data + attribute keys and values + 20 bytes of timestamp (and the ordering
// key, unused here): https://cloud.google.com/pubsub/pricing#message_delivery_pricing (read 2026-12-03; see
// bench/prices.json). No timings here: --quick sends fewer events.
import {
  buildApp,
  createLogger,
  generateEvents,
  InMemoryTransport,
  loadConfig,
  type OutboundMessage,
} from '@sluice/publisher';
import { typicalEvent } from './events.ts';
import { type Figure, figure, type SuiteOptions, type SuiteResult } from './report.ts';

const KEY = 'bench-key';
const AUTH = `Basic ${Buffer.from(`${KEY}:`).toString('base64')}`;
/** Pub/Sub adds the publish timestamp to every message's billable size. */
const PUBSUB_MESSAGE_OVERHEAD = 20;

export function billableBytes(m: OutboundMessage): number {
  let attrs = 0;
  for (const [k, v] of Object.entries(m.attributes))
    attrs += Buffer.byteLength(k) + Buffer.byteLength(String(v));
  return Buffer.byteLength(m.data) + attrs + PUBSUB_MESSAGE_OVERHEAD;
}

type Sample = Record<string, unknown>;

function serverShape(e: Sample): Sample {
  const context = { ...(e.context as Record<string, unknown>) };
  delete context.page;
  delete context.userAgent;
  delete context.campaign;
  context.library = { name: '@sluice/sdk', version: '0.1.0' };
  return { ...e, context };
}

interface Measured {
  events: number;
  requests: number;
  rawBytesPerEvent: number;
  publishedBytesPerEvent: number;
}

async function send(events: Sample[], batchSize: number): Promise<Measured> {
  const transport = new InMemoryTransport();
  const config = loadConfig({ SLUICE_WRITE_KEY: KEY });
  const { app } = buildApp(config, { transport, logger: createLogger('silent') });
  let raw = 0;
  let requests = 0;
  try {
    for (let i = 0; i < events.length; i += batchSize) {
      const batch = events.slice(i, i + batchSize);
      raw += batch.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)), 0);
      const res = await app.inject({
        method: 'POST',
        url: '/v1/batch',
        headers: { 'content-type': 'application/json', authorization: AUTH },
        payload: JSON.stringify({ batch }),
      });
      requests++;
      if (res.statusCode !== 200)
        throw new Error(`collector answered ${res.statusCode}: ${res.body.slice(0, 300)}`);
    }
  } finally {
    await app.close();
  }
  if (transport.messages.length !== events.length) {
    throw new Error(`published ${transport.messages.length} of ${events.length} events`);
  }
  const published = transport.messages.reduce((n, m) => n + billableBytes(m), 0);
  return {
    events: events.length,
    requests,
    rawBytesPerEvent: raw / events.length,
    publishedBytesPerEvent: published / events.length,
  };
}

export async function run(options: SuiteOptions): Promise<SuiteResult> {
  const users = options.quick ? 20 : 400;
  const generated = generateEvents({ seed: 7, users, eventsPerUser: 15, invalidRate: 0 }).map(
    (g) => g.event as Sample,
  );
  const samples: { id: string; label: string; events: Sample[]; batch: number }[] = [
    { id: 'browser', label: 'browser SDK mix', events: generated, batch: 20 },
    { id: 'server', label: 'server SDK mix', events: generated.map(serverShape), batch: 15 },
    {
      id: 'ecommerce',
      label: 'analytics.js e-commerce',
      events: Array.from({ length: generated.length }, (_, i) => {
        const e = JSON.parse(typicalEvent(i)) as Sample;
        // The collector stamps these itself; a client sends only timestamp.
        delete e.receivedAt;
        delete e.sourceId;
        return e;
      }),
      batch: 20,
    },
  ];
  const figures: Figure[] = [];
  for (const s of samples) {
    const m = await send(s.events, s.batch);
    console.log(
      `${s.label}: ${m.events} events in ${m.requests} requests; ${m.rawBytesPerEvent.toFixed(0)} B per event as sent, ` +
        `${m.publishedBytesPerEvent.toFixed(0)} B per event as published (Pub/Sub billable size)`,
    );
    figures.push(
      figure({
        id: `traffic.${s.id}.publishedBytesPerEvent`,
        label: `bytes per event as published, ${s.label}`,
        unit: 'B',
        rounds: [m.publishedBytesPerEvent],
        baseline: { label: 'as sent by the client', value: m.rawBytesPerEvent },
      }),
    );
  }
  return { ok: true, figures };
}
