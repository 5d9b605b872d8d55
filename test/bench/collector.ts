// Collector throughput on loopback (autocannon), each figure beside a bare Fastify route that parses the same JSON
// and answers 200, measured in the same run. Targets (in-memory transport): /v1/track >= 60% of bare req/s,
// /v1/batch >= 100,000 events/s. Then the same against the real Pub/Sub emulator (reported, no target).
//
// Fairness: every server under test runs in its own child process (this file, forked with SLUICE_BENCH_SERVE set),
// so autocannon (here, in the parent) never shares an event loop with it. The collector child is built as
// server.ts builds it (production logger at the default level, output discarded). Each server is warmed up on
// each route before it is measured; then bare and collector are measured alternately, SLUICE_BENCH_ROUNDS times
// (default 3) for SLUICE_BENCH_SECONDS each (default 5), same JSON, same connection count. The verdict uses the
// median round; every round is printed so the noise is visible. SLUICE_BENCH_EMULATOR_SKIP=1 skips the emulator part.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { PubSub } from '@google-cloud/pubsub';
import {
  buildApp,
  createLogger,
  generateEvents,
  InMemoryTransport,
  loadConfig,
  PubSubTransport,
  type Transport,
} from '@sluice/publisher';
import { startPubSubEmulator } from '@sluice/publisher/testing';
import autocannon from 'autocannon';
import Fastify from 'fastify';

const DURATION = Number(process.env.SLUICE_BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.SLUICE_BENCH_ROUNDS ?? 3);
const WARMUP_SECONDS = 2;
const CONNECTIONS = 32;
const BATCH_SIZE = 100;
const KEY = 'bench-key';
const AUTH = `Basic ${Buffer.from(`${KEY}:`).toString('base64')}`;
const TOPIC = 'sluice-events';

type ServerKind = 'bare' | 'memory' | 'pubsub';

interface Measured {
  rps: number;
  p99: number;
  non2xx: number;
  /** Server CPU time per request during the round (microseconds): less sensitive to a busy machine than req/s. */
  cpuPerRequest: number;
}

function bodies(): { track: string; batch: string } {
  const events = generateEvents({ seed: 42, users: 50, eventsPerUser: 4, invalidRate: 0 }).map(
    (g) => g.event,
  );
  return {
    track: JSON.stringify(events.find((e) => e.type === 'track')),
    batch: JSON.stringify({ batch: events.slice(0, BATCH_SIZE) }),
  };
}

// ---------------------------------------------------------------- child: one server under test

interface ChildStats {
  published: number;
  /** CPU time (user + system) the server process has used so far, microseconds. */
  cpuMicros: number;
}

async function serve(kind: ServerKind): Promise<void> {
  let published = (): number => 0;
  let listenOn: (host: string) => Promise<string>;
  let close: () => Promise<void>;
  if (kind === 'bare') {
    const app = Fastify({ logger: false, bodyLimit: 512 * 1024 });
    app.post('/v1/track', async () => ({ success: true }));
    app.post('/v1/batch', async () => ({ success: true }));
    listenOn = (host) => app.listen({ host, port: 0 });
    close = () => app.close();
  } else {
    const env: Record<string, string> = {
      SLUICE_WRITE_KEY: KEY,
      SLUICE_MAX_INFLIGHT_BYTES: String(256 * 1024 * 1024),
    };
    if (kind === 'pubsub') env.PUBSUB_EMULATOR_HOST = process.env.SLUICE_BENCH_EMULATOR ?? '';
    const config = loadConfig(env);
    let transport: Transport;
    if (kind === 'memory') {
      const memory = new InMemoryTransport();
      memory.keep = false;
      published = () => memory.count;
      transport = memory;
    } else {
      transport = new PubSubTransport(config.pubsub, { publishTimeoutMs: config.publishTimeoutMs });
    }
    const { app } = buildApp(config, { transport, logger: createLogger(config.logLevel) });
    listenOn = (host) => app.listen({ host, port: 0 });
    close = () => app.close();
  }
  const url = await listenOn('127.0.0.1');
  process.on('message', (message: unknown) => {
    if (message === 'stats') {
      const cpu = process.cpuUsage();
      process.send?.({ published: published(), cpuMicros: cpu.user + cpu.system } satisfies ChildStats);
    }
    if (message === 'stop') void close().then(() => process.exit(0));
  });
  process.send?.({ url });
}

// ---------------------------------------------------------------- parent: autocannon

interface Child {
  url: string;
  stats(): Promise<ChildStats>;
  stop(): Promise<void>;
}

async function spawnServer(kind: ServerKind, env: Record<string, string> = {}): Promise<Child> {
  // fork() reuses this process's execArgv, i.e. tsx's loader.
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, ...env, SLUICE_BENCH_SERVE: kind },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const [first] = (await once(child, 'message')) as [{ url: string }];
  return {
    url: first.url,
    stats: async () => {
      child.send('stats');
      const [stats] = (await once(child, 'message')) as [ChildStats];
      return stats;
    },
    stop: async () => {
      const exited = once(child, 'exit');
      child.send('stop');
      await exited;
    },
  };
}

async function measure(server: Child, route: string, body: string, seconds: number): Promise<Measured> {
  const before = await server.stats();
  const result = await autocannon({
    url: `${server.url}${route}`,
    method: 'POST',
    connections: CONNECTIONS,
    duration: seconds,
    headers: { 'content-type': 'application/json', authorization: AUTH },
    body,
  });
  const after = await server.stats();
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    non2xx: result.non2xx + result.errors,
    cpuPerRequest: (after.cpuMicros - before.cpuMicros) / Math.max(1, result.requests.total),
  };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const pct = (n: number): string => `${(n * 100).toFixed(0)}%`;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function spread(values: readonly number[]): string {
  return `${fmt(Math.min(...values))}..${fmt(Math.max(...values))}`;
}

async function inMemory(body: { track: string; batch: string }): Promise<boolean> {
  const bare = await spawnServer('bare');
  const sluice = await spawnServer('memory');
  try {
    for (const server of [bare, sluice]) {
      await measure(server, '/v1/track', body.track, WARMUP_SECONDS);
      await measure(server, '/v1/batch', body.batch, WARMUP_SECONDS);
    }
    const ratios: number[] = [];
    const eventRates: number[] = [];
    const trackCpu: number[] = [];
    const batchCpu: number[] = [];
    const bareBatchCpu: number[] = [];
    let non2xx = 0;
    console.log(
      `connections ${CONNECTIONS}, ${ROUNDS} rounds x ${DURATION} s per route and server, loopback, in-memory transport, servers in child processes`,
    );
    for (let round = 1; round <= ROUNDS; round++) {
      const bareTrack = await measure(bare, '/v1/track', body.track, DURATION);
      const track = await measure(sluice, '/v1/track', body.track, DURATION);
      const bareBatch = await measure(bare, '/v1/batch', body.batch, DURATION);
      const batch = await measure(sluice, '/v1/batch', body.batch, DURATION);
      non2xx += track.non2xx + batch.non2xx;
      ratios.push(track.rps / bareTrack.rps);
      eventRates.push(batch.rps * BATCH_SIZE);
      trackCpu.push(track.cpuPerRequest);
      batchCpu.push(batch.cpuPerRequest / BATCH_SIZE);
      bareBatchCpu.push(bareBatch.cpuPerRequest / BATCH_SIZE);
      console.log(
        `round ${round}: /v1/track bare ${fmt(bareTrack.rps)} req/s, sluice ${fmt(track.rps)} req/s (${pct(track.rps / bareTrack.rps)}) p99 ${track.p99} ms; ` +
          `/v1/batch bare ${fmt(bareBatch.rps * BATCH_SIZE)} events/s, sluice ${fmt(batch.rps * BATCH_SIZE)} events/s p99 ${batch.p99} ms`,
      );
    }
    const trackRatio = median(ratios);
    const batchEvents = median(eventRates);
    console.log(
      `/v1/track  median ${pct(trackRatio)} of bare (rounds ${ratios.map(pct).join(', ')}; target >= 60%)`,
    );
    console.log(
      `/v1/batch  median ${fmt(batchEvents)} events/s (rounds ${spread(eventRates)}; target >= 100,000)`,
    );
    console.log(
      `server CPU (median): /v1/track ${median(trackCpu).toFixed(0)} µs/request; /v1/batch ${median(batchCpu).toFixed(1)} µs/event (bare route parsing the same body: ${median(bareBatchCpu).toFixed(1)} µs/event)`,
    );
    console.log(`published in memory: ${fmt((await sluice.stats()).published)} events`);
    if (non2xx > 0) console.log(`non-2xx responses or errors: ${non2xx}`);
    return non2xx === 0 && trackRatio >= 0.6 && batchEvents >= 100_000;
  } finally {
    await Promise.all([bare.stop(), sluice.stop()]);
  }
}

async function againstEmulator(body: { track: string; batch: string }): Promise<void> {
  let emulator: Awaited<ReturnType<typeof startPubSubEmulator>> | undefined;
  try {
    emulator = await startPubSubEmulator();
    const admin = new PubSub({ projectId: 'demo', apiEndpoint: emulator.host, emulatorMode: true });
    await admin.createTopic(TOPIC);
    await admin.close();
    const server = await spawnServer('pubsub', { SLUICE_BENCH_EMULATOR: emulator.host });
    try {
      await measure(server, '/v1/track', body.track, WARMUP_SECONDS);
      const track = await measure(server, '/v1/track', body.track, DURATION);
      const batch = await measure(server, '/v1/batch', body.batch, DURATION);
      console.log(
        `Pub/Sub emulator (same machine, Java): /v1/track ${fmt(track.rps)} req/s p99 ${track.p99} ms; /v1/batch ${fmt(batch.rps * BATCH_SIZE)} events/s p99 ${batch.p99} ms; non-2xx ${track.non2xx + batch.non2xx}`,
      );
    } finally {
      await server.stop();
    }
  } catch (error) {
    console.log(`Pub/Sub emulator run failed: ${String(error)}`);
  } finally {
    await emulator?.stop();
  }
}

export async function run(): Promise<boolean> {
  const body = bodies();
  const ok = await inMemory(body);
  if (process.env.SLUICE_BENCH_EMULATOR_SKIP !== '1') await againstEmulator(body);
  return ok;
}

const serveKind = process.env.SLUICE_BENCH_SERVE;
if (serveKind === 'bare' || serveKind === 'memory' || serveKind === 'pubsub') await serve(serveKind);
