// `npm run loadgen -- --users N --events-per-user M --rate R --duration S --target URL [--seed K] [--write-key K]
//   [--batch-size B] [--concurrency C]`: synthetic Segment traffic to a collector; prints achieved rate, latency
// percentiles and responses by status.
import { parseArgs } from 'node:util';
import { generateEvents } from './generate.ts';
import { runLoad } from './run.ts';

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const err = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '100' },
    'events-per-user': { type: 'string', default: '10' },
    rate: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '10' },
    target: { type: 'string', default: 'http://127.0.0.1:8080' },
    seed: { type: 'string', default: '1' },
    'write-key': { type: 'string' },
    'batch-size': { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '16' },
    'invalid-rate': { type: 'string', default: '0.02' },
  },
});

const num = (name: keyof typeof values): number => {
  const n = Number(values[name]);
  if (!Number.isFinite(n) || n < 0) {
    err(`--${name} must be a non-negative number`);
    process.exit(2);
  }
  return n;
};

const writeKey = values['write-key'] ?? process.env.SLUICE_WRITE_KEY;
if (!writeKey) {
  err('--write-key (or SLUICE_WRITE_KEY) is required');
  process.exit(2);
}
const generated = generateEvents({
  seed: num('seed'),
  users: num('users'),
  eventsPerUser: num('events-per-user'),
  invalidRate: num('invalid-rate'),
});
const invalid = generated.filter((g) => g.invalid).length;
out(
  `loadgen: ${generated.length} events (${invalid} invalid on purpose), seed ${values.seed}, target ${values.target}`,
);
const report = await runLoad({
  target: values.target ?? 'http://127.0.0.1:8080',
  writeKey,
  events: generated.map((g) => g.event),
  rate: num('rate'),
  durationSeconds: num('duration'),
  batchSize: Math.max(1, num('batch-size')),
  concurrency: Math.max(1, num('concurrency')),
});
out(`sent ${report.sentEvents} events in ${report.requests} requests over ${report.seconds.toFixed(2)} s`);
out(`achieved rate: ${report.eventsPerSecond.toFixed(0)} events/s`);
const l = report.latencyMs;
out(
  `latency ms: p50 ${l.p50.toFixed(1)}  p95 ${l.p95.toFixed(1)}  p99 ${l.p99.toFixed(1)}  max ${l.max.toFixed(1)}`,
);
out(`responses by status: ${JSON.stringify(report.byStatus)}`);
const failed = Object.keys(report.byStatus).some((s) => s === 'network-error' || s.startsWith('5'));
process.exit(failed ? 1 : 0);
