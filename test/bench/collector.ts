// Collector throughput on loopback (autocannon), each figure beside a bare Fastify route that parses the same JSON
// and answers 200, measured in the same run. Targets (in-memory transport): /v1/track >= 60% of bare req/s,
// /v1/batch >= 100,000 events/s. Then the same against the real Pub/Sub emulator (reported, no target).
import { PubSub } from '@google-cloud/pubsub';
import { buildApp, generateEvents, InMemoryTransport, loadConfig, PubSubTransport } from '@sluice/publisher';
import { startPubSubEmulator } from '@sluice/publisher/testing';
import autocannon from 'autocannon';
import Fastify, { type FastifyInstance } from 'fastify';

const DURATION = Number(process.env.SLUICE_BENCH_SECONDS ?? 5);
const CONNECTIONS = 32;
const KEY = 'bench-key';
const AUTH = `Basic ${Buffer.from(`${KEY}:`).toString('base64')}`;

const events = generateEvents({ seed: 42, users: 50, eventsPerUser: 4, invalidRate: 0 }).map((g) => g.event);
const trackBody = JSON.stringify(events.find((e) => e.type === 'track'));
const batchBody = JSON.stringify({ batch: events.slice(0, 100) });

async function measure(url: string, body: string): Promise<{ rps: number; p99: number; non2xx: number }> {
  const result = await autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: DURATION,
    headers: { 'content-type': 'application/json', authorization: AUTH },
    body,
  });
  return { rps: result.requests.average, p99: result.latency.p99, non2xx: result.non2xx + result.errors };
}

function bare(): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 512 * 1024 });
  app.post('/v1/track', async () => ({ success: true }));
  app.post('/v1/batch', async () => ({ success: true }));
  return app;
}

async function listen(app: FastifyInstance): Promise<string> {
  return app.listen({ host: '127.0.0.1', port: 0 });
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

export async function run(): Promise<boolean> {
  let ok = true;
  const config = loadConfig({ SLUICE_WRITE_KEY: KEY, SLUICE_MAX_INFLIGHT_BYTES: String(256 * 1024 * 1024) });

  // --- in-memory transport, beside the bare route ---
  const baseline = bare();
  const baseUrl = await listen(baseline);
  const memory = new InMemoryTransport();
  memory.keep = false;
  const collector = buildApp(config, { transport: memory });
  const url = await listen(collector.app);

  const bareTrack = await measure(`${baseUrl}/v1/track`, trackBody);
  const track = await measure(`${url}/v1/track`, trackBody);
  const bareBatch = await measure(`${baseUrl}/v1/batch`, batchBody);
  const batch = await measure(`${url}/v1/batch`, batchBody);
  await collector.app.close();
  await baseline.close();

  const trackRatio = track.rps / bareTrack.rps;
  const batchEvents = batch.rps * 100;
  console.log(`connections ${CONNECTIONS}, ${DURATION} s per run, loopback, in-memory transport`);
  console.log(
    `/v1/track  bare ${fmt(bareTrack.rps)} req/s   sluice ${fmt(track.rps)} req/s  (${(trackRatio * 100).toFixed(0)}% of bare; target >= 60%)  p99 ${track.p99} ms`,
  );
  console.log(
    `/v1/batch  bare ${fmt(bareBatch.rps * 100)} events/s   sluice ${fmt(batchEvents)} events/s (target >= 100,000)  p99 ${batch.p99} ms`,
  );
  if (track.non2xx > 0 || batch.non2xx > 0) {
    console.log(`non-2xx responses: track ${track.non2xx}, batch ${batch.non2xx}`);
    ok = false;
  }
  if (trackRatio < 0.6) ok = false;
  if (batchEvents < 100_000) ok = false;
  console.log(`published in memory: ${fmt(memory.count)} events`);

  // --- real Pub/Sub emulator (reported separately, no target) ---
  let emulator: Awaited<ReturnType<typeof startPubSubEmulator>> | undefined;
  try {
    emulator = await startPubSubEmulator();
    const admin = new PubSub({ projectId: 'demo', apiEndpoint: emulator.host, emulatorMode: true });
    await admin.createTopic('sluice-events');
    await admin.close();
    const psConfig = loadConfig({
      SLUICE_WRITE_KEY: KEY,
      PUBSUB_EMULATOR_HOST: emulator.host,
      SLUICE_MAX_INFLIGHT_BYTES: String(256 * 1024 * 1024),
    });
    const ps = buildApp(psConfig, {
      transport: new PubSubTransport(psConfig.pubsub, { publishTimeoutMs: psConfig.publishTimeoutMs }),
    });
    const psUrl = await listen(ps.app);
    const psTrack = await measure(`${psUrl}/v1/track`, trackBody);
    const psBatch = await measure(`${psUrl}/v1/batch`, batchBody);
    await ps.app.close();
    console.log(
      `Pub/Sub emulator (same machine, Java): /v1/track ${fmt(psTrack.rps)} req/s p99 ${psTrack.p99} ms; /v1/batch ${fmt(psBatch.rps * 100)} events/s p99 ${psBatch.p99} ms; non-2xx ${psTrack.non2xx + psBatch.non2xx}`,
    );
  } catch (error) {
    console.log(`Pub/Sub emulator run failed: ${String(error)}`);
  } finally {
    await emulator?.stop();
  }
  return ok;
}
