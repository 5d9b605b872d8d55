import { existsSync, readFileSync } from 'node:fs';
import { pino } from 'pino';
import { loadConfig } from './config.ts';
import { sendEvents } from './send-events.ts';
import { startStack } from './stack.ts';
import { syntheticEvents } from './synthetic-events.ts';

const t0 = Date.now();
const config = loadConfig({
  ...process.env,
  SLUICE_DATA_DIR: '/tmp/lt/data',
  SLUICE_WINDOW_SECONDS: '1',
  SLUICE_TRANSPORT: process.argv[2] ?? 'pubsub',
});
const stack = await startStack({
  config,
  logger: pino({ level: 'info' }),
  collectorPort: 0,
  loaderSource: '/tmp/lt/fake/index.js',
});
console.log('up', Date.now() - t0, stack.collectorUrl, stack.processes);
await sendEvents(syntheticEvents({ count: 300, runId: 'smoke', now: new Date() }), {
  collectorUrl: stack.collectorUrl,
  writeKey: stack.writeKey,
});
console.log('sent', Date.now() - t0);
const f = '/tmp/lt/data/fake-loads.ndjson';
for (;;) {
  const total = existsSync(f)
    ? readFileSync(f, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).lines)
        .reduce((a, b) => a + b, 0)
    : 0;
  if (total >= 300) {
    console.log('loaded', total, Date.now() - t0);
    break;
  }
  if (Date.now() - t0 > 60000) {
    console.log('timeout', total);
    break;
  }
  await new Promise((r) => setTimeout(r, 200));
}
await stack.stop();
console.log('stopped', Date.now() - t0);
