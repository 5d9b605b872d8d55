/**
 * `npm run demo [-- --pubsub] [-- --events N]`: brings the local stack up on free ports (spool transport by
 * default, no gcloud needed; `--pubsub` for the emulator topology), sends N (default 1,000)
 * synthetic events of all six types through the collector over HTTP, waits until every one is loaded into DuckDB,
 * prints rows per table and a sample query, shuts everything down (the emulator's Java process included).
 * Exit 0 only if every table holds exactly what was sent and nothing is left running.
 */
import { pino } from 'pino';
import { buildLoader } from '../build-loader.ts';
import { groupAlive } from '../child-process.ts';
import { loadConfig } from '../config.ts';
import { isLocalError } from '../errors.ts';
import { sendEvents } from '../send-events.ts';
import { type LocalStack, startStack } from '../stack.ts';
import { expectedCounts, syntheticEvents } from '../synthetic-events.ts';
import { pollUntil } from '../wait-for.ts';
import { countRowsByIdPrefix } from '../warehouse-counts.ts';
import { formatTable, queryWarehouse } from '../warehouse-query.ts';
import { SPOOL_NOTE, transportFlag } from './transport-flag.ts';

const args = process.argv.slice(2);
const eventsArg = args.indexOf('--events');
const count = eventsArg >= 0 ? Number(args[eventsArg + 1]) : 1000;
if (!Number.isInteger(count) || count < 6) {
  console.error('usage: npm run demo [-- --pubsub] [-- --events N]  (N >= 6)');
  process.exit(2);
}

const config = (() => {
  try {
    return loadConfig();
  } catch (error) {
    console.error(isLocalError(error) ? `${error.code}: ${error.message}` : error);
    return process.exit(1);
  }
})();
const logger = pino({ level: config.logLevel === 'info' ? 'warn' : config.logLevel }, pino.destination(2));
const t0 = Date.now();
const elapsed = (): string => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

const transport = transportFlag(args, config.transport);
console.log(
  `Starting the local stack (${transport === 'spool' ? 'spool transport, no emulator' : 'Pub/Sub emulator'})...`,
);
if (transport === 'spool') console.log(SPOOL_NOTE);
let stack: LocalStack | undefined;
let ok = false;
// Ctrl-C: stop what runs (gracefully once the stack is up; the exit hook SIGKILLs the rest), exit 130.
const interrupt = (): void => {
  console.error('\ninterrupted: shutting down...');
  void (stack?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
};
process.once('SIGINT', interrupt);
process.once('SIGTERM', interrupt);
try {
  buildLoader(config.repoRoot, config.childEnv);
  stack = await startStack({ config, logger, collectorPort: 0, transport });
  console.log(`  up in ${elapsed()}: collector ${stack.collectorUrl}, DuckDB ${stack.duckdbPath}`);

  const runId = `demo-${Date.now().toString(36)}`;
  const events = syntheticEvents({ count, runId, now: new Date() });
  const expected = expectedCounts(events);
  await sendEvents(events, { collectorUrl: stack.collectorUrl, writeKey: stack.writeKey });
  console.log(
    `Sent ${events.length} events (run ${runId}) in batches of 100 at ${elapsed()}; window ${config.windowSeconds} s.`,
  );

  const duckdbPath = stack.duckdbPath;
  const complete = (counts: Record<string, number>): boolean =>
    Object.entries(expected).every(([table, n]) => counts[table] === n);
  const counts = await pollUntil(() => countRowsByIdPrefix(duckdbPath, `${runId}-`), complete, {
    initial: {} as Record<string, number>,
    timeoutMs: Math.max(120_000, config.windowSeconds * 3000),
    intervalMs: 500,
  });
  ok = complete(counts);
  console.log(ok ? `All loaded at ${elapsed()}.` : `\nNOT all loaded before the deadline (${elapsed()}).`);

  console.log('\nRows per table (this run):');
  const tables = [...new Set([...Object.keys(expected), ...Object.keys(counts).filter((t) => counts[t])])];
  console.log(
    formatTable({
      columns: ['table', 'rows', 'sent'],
      rows: tables.map((t) => [t, counts[t] ?? 0, expected[t] ?? '']),
    }),
  );

  if ((counts.tracks ?? 0) > 0) {
    const sql =
      'SELECT event, count(*) AS events, count(DISTINCT coalesce(user_id, anonymous_id)) AS people ' +
      `FROM tracks WHERE starts_with(id, '${runId}-') GROUP BY event ORDER BY events DESC`;
    console.log(`\nSample query:\n  ${sql}`);
    console.log(formatTable(await queryWarehouse(stack.duckdbPath, sql)));
  }
  console.log(`\nQuery it yourself: npm run query -- "SELECT * FROM tracks LIMIT 5"`);
} catch (error) {
  console.error('\ndemo failed:', isLocalError(error) ? `${error.code}: ${error.message}` : error);
  ok = false;
} finally {
  if (stack) {
    console.log('\nShutting down...');
    await stack.stop().catch((error: unknown) => {
      console.error('stop failed:', error);
      ok = false;
    });
    const alive = stack.processes.filter((p) => groupAlive(p.pid));
    if (alive.length > 0) {
      console.error(`still running: ${alive.map((p) => `${p.name} (pgid ${p.pid})`).join(', ')}`);
      ok = false;
    } else {
      console.log(
        `Stopped ${stack.processes.map((p) => p.name).join(', ')}; nothing left running. Total ${elapsed()}.`,
      );
    }
  }
}
process.exit(ok ? 0 : 1);
