// `npm run bench -- collector`: the collector's throughput and server CPU, as figures for the report. It wraps
// collector.ts without changing it: the servers under test are collector.ts's own children (forked with
// SLUICE_BENCH_SERVE=bare|memory|pubsub, the same child protocol: {url}, 'stats', 'stop'); this file drives them
// with autocannon from the parent, alternating bare and sluice every round, and reads each child's CPU time from
// /proc/<pid>/stat around each measure (CPU-seconds per request and per 1,000 events, which `npm run cost` bills).
// Targets (in-memory transport): /v1/track >= 60% of bare req/s, /v1/batch >= 100,000 events/s. Then the same
// against the real Pub/Sub emulator (no target). SLUICE_BENCH_ROUNDS (3), SLUICE_BENCH_SECONDS (5) as collector.ts;
// --quick: one 1-second round, no emulator.
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PubSub } from '@google-cloud/pubsub';
import { generateEvents } from '@sluice/publisher';
import { startPubSubEmulator } from '@sluice/publisher/testing';
import autocannon from 'autocannon';
import { type Figure, figure, meets, type SuiteOptions, type SuiteResult } from './report.ts';

const COLLECTOR = fileURLToPath(new URL('./collector.ts', import.meta.url));
const CONNECTIONS = 32;
const BATCH_SIZE = 100;
const AUTH = `Basic ${Buffer.from('bench-key:').toString('base64')}`;
const CLOCK_TICKS_PER_S = 100; // Linux USER_HZ

interface Server {
  url: string;
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** CPU time (user + system) of a process so far, from /proc (Linux). */
function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

async function serve(kind: 'bare' | 'memory' | 'pubsub', env: Record<string, string> = {}): Promise<Server> {
  const child: ChildProcess = fork(COLLECTOR, [], {
    env: { ...process.env, ...env, SLUICE_BENCH_SERVE: kind },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const [first] = (await once(child, 'message')) as [{ url: string }];
  const pid = child.pid as number;
  return {
    url: first.url,
    cpuSeconds: () => procCpuSeconds(pid),
    stop: async () => {
      const exited = once(child, 'exit');
      child.send('stop');
      await exited;
    },
  };
}

interface Measure {
  rps: number;
  /** Mean latency, ms (autocannon's percentiles are whole milliseconds). */
  meanMs: number;
  cpuPerRequest: number;
  errors: number;
}

async function measure(
  server: Server,
  route: string,
  body: string,
  seconds: number,
  connections = CONNECTIONS,
): Promise<Measure> {
  const cpu0 = server.cpuSeconds();
  const r = await autocannon({
    url: `${server.url}${route}`,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json', authorization: AUTH },
    body,
  });
  const cpu = server.cpuSeconds() - cpu0;
  const total = r.requests.total;
  return {
    rps: r.requests.average,
    meanMs: r.latency.mean,
    cpuPerRequest: total > 0 ? cpu / total : Number.NaN,
    errors: r.non2xx + r.errors,
  };
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

export async function run(options: SuiteOptions): Promise<SuiteResult> {
  const q = options.quick;
  const seconds = q ? 1 : Number(process.env.SLUICE_BENCH_SECONDS ?? 5);
  const rounds = q ? 1 : Number(process.env.SLUICE_BENCH_ROUNDS ?? 3);
  const body = bodies();
  const bare = await serve('bare');
  const sluice = await serve('memory');
  const r = {
    bareTrack: [] as number[],
    track: [] as number[],
    bareBatch: [] as number[],
    batch: [] as number[],
    cpuTrack: [] as number[],
    cpuBatch: [] as number[],
    aloneMs: [] as number[],
  };
  let errors = 0;
  try {
    for (const s of q ? [] : [bare, sluice]) {
      await measure(s, '/v1/track', body.track, 2);
      await measure(s, '/v1/batch', body.batch, 2);
    }
    console.log(`connections ${CONNECTIONS}, ${rounds} rounds x ${seconds} s, loopback, in-memory transport`);
    for (let round = 1; round <= rounds; round++) {
      const bt = await measure(bare, '/v1/track', body.track, seconds);
      const t = await measure(sluice, '/v1/track', body.track, seconds);
      const bb = await measure(bare, '/v1/batch', body.batch, seconds);
      const b = await measure(sluice, '/v1/batch', body.batch, seconds);
      // One connection: a request's latency when it is alone (what an idle Cloud Run instance sees).
      const one = await measure(sluice, '/v1/track', body.track, Math.max(1, seconds / 5), 1);
      errors += bt.errors + t.errors + bb.errors + b.errors + one.errors;
      r.bareTrack.push(bt.rps);
      r.track.push(t.rps);
      r.bareBatch.push(bb.rps * BATCH_SIZE);
      r.batch.push(b.rps * BATCH_SIZE);
      r.cpuTrack.push(t.cpuPerRequest * 1000);
      r.cpuBatch.push((b.cpuPerRequest * 1000) / BATCH_SIZE);
      r.aloneMs.push(one.meanMs);
      console.log(
        `round ${round}: track bare ${Math.round(bt.rps)} req/s, sluice ${Math.round(t.rps)} req/s ` +
          `(${(t.cpuPerRequest * 1e3).toFixed(3)} ms CPU/req); batch bare ${Math.round(bb.rps * BATCH_SIZE)} events/s, ` +
          `sluice ${Math.round(b.rps * BATCH_SIZE)} events/s (${(b.cpuPerRequest * 1e3).toFixed(3)} ms CPU/req); mean latency alone ${one.meanMs.toFixed(2)} ms`,
      );
    }
  } finally {
    await Promise.all([bare.stop(), sluice.stop()]);
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] as number;
  const figures: Figure[] = [
    figure({
      id: 'collector.track.reqPerS',
      label: `collector /v1/track, ${CONNECTIONS} connections, in-memory transport`,
      unit: 'req/s',
      rounds: r.track,
      baseline: { label: 'bare Fastify route', value: median(r.bareTrack) },
      target: { of: 'ratio', op: '>=', limit: 0.6 },
    }),
    figure({
      id: 'collector.batch.eventsPerS',
      label: `collector /v1/batch of ${BATCH_SIZE}, in-memory transport`,
      unit: 'events/s',
      rounds: r.batch,
      baseline: { label: 'bare Fastify route', value: median(r.bareBatch) },
      target: { of: 'value', op: '>=', limit: 100_000 },
    }),
    figure({
      id: 'collector.track.cpuSecondsPer1000Events',
      label: 'collector server CPU per 1,000 events, one event per request',
      unit: 'CPU-s',
      rounds: r.cpuTrack,
    }),
    figure({
      id: 'collector.batch.cpuSecondsPer1000Events',
      label: `collector server CPU per 1,000 events, batches of ${BATCH_SIZE}`,
      unit: 'CPU-s',
      rounds: r.cpuBatch,
    }),
    figure({
      id: 'collector.track.latencyMsAlone',
      label: 'collector /v1/track mean latency, one connection',
      unit: 'ms',
      rounds: r.aloneMs,
    }),
  ];
  if (!q && process.env.SLUICE_BENCH_EMULATOR_SKIP !== '1')
    figures.push(...(await againstEmulator(body, seconds)));
  else console.log('Pub/Sub emulator part skipped (--quick or SLUICE_BENCH_EMULATOR_SKIP=1)');
  if (errors > 0) console.log(`non-2xx responses or errors: ${errors}`);
  return { ok: errors === 0 && (q || figures.every((f) => meets(f) !== false)), figures };
}

async function againstEmulator(body: { track: string; batch: string }, seconds: number): Promise<Figure[]> {
  const emulator = await startPubSubEmulator();
  try {
    const admin = new PubSub({ projectId: 'demo', apiEndpoint: emulator.host, emulatorMode: true });
    await admin.createTopic('sluice-events');
    await admin.close();
    const server = await serve('pubsub', { SLUICE_BENCH_EMULATOR: emulator.host });
    try {
      await measure(server, '/v1/track', body.track, 2);
      const track = await measure(server, '/v1/track', body.track, seconds);
      const batch = await measure(server, '/v1/batch', body.batch, seconds);
      const one = await measure(server, '/v1/track', body.track, Math.max(1, seconds / 5), 1);
      console.log(
        `Pub/Sub emulator: track ${Math.round(track.rps)} req/s, batch ${Math.round(batch.rps * BATCH_SIZE)} events/s, ` +
          `mean latency alone ${one.meanMs.toFixed(2)} ms, errors ${track.errors + batch.errors + one.errors}`,
      );
      return [
        figure({
          id: 'collector.pubsub.track.reqPerS',
          label: 'collector /v1/track against the Pub/Sub emulator',
          unit: 'req/s',
          rounds: [track.rps],
        }),
        figure({
          id: 'collector.pubsub.batch.eventsPerS',
          label: `collector /v1/batch of ${BATCH_SIZE} against the Pub/Sub emulator`,
          unit: 'events/s',
          rounds: [batch.rps * BATCH_SIZE],
        }),
        figure({
          id: 'collector.pubsub.track.latencyMsAlone',
          label: 'collector /v1/track mean latency alone, Pub/Sub emulator',
          unit: 'ms',
          rounds: [one.meanMs],
        }),
      ];
    } finally {
      await server.stop();
    }
  } finally {
    await emulator.stop();
  }
}
