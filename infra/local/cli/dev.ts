/**
 * `npm run dev [-- --pubsub]`: runs the local stack in the foreground until Ctrl-C (SIGINT), SIGTERM or SIGHUP, or
 * until the process that started it is gone (its parent changes), or one of its children dies (then it says which
 * and exits 1). Spool transport by default; `--pubsub` (or SLUICE_TRANSPORT=pubsub) for the emulator topology.
 * Settings: see docs/local.md (SLUICE_PORT, SLUICE_WRITE_KEY, SLUICE_DATA_DIR, SLUICE_WINDOW_SECONDS, ...).
 */
import { pino } from 'pino';
import { buildLoader } from '../build-loader.ts';
import { loadConfig } from '../config.ts';
import { isLocalError } from '../errors.ts';
import { type LocalStack, startStack } from '../stack.ts';
import { SPOOL_NOTE, transportFlag } from './transport-flag.ts';

function fail(error: unknown): never {
  console.error(isLocalError(error) ? `${error.code}: ${error.message}` : error);
  process.exit(1);
}

let stack: LocalStack;
const config = (() => {
  try {
    return loadConfig();
  } catch (error) {
    return fail(error);
  }
})();
const logger = pino({ level: config.logLevel }, pino.destination(2));
// Interrupted while starting: exit at once; the exit hook SIGKILLs every process group started so far.
const interruptStart = (): never => process.exit(130);
process.once('SIGINT', interruptStart);
process.once('SIGTERM', interruptStart);
process.once('SIGHUP', interruptStart);
const transport = transportFlag(process.argv.slice(2), config.transport);
try {
  buildLoader(config.repoRoot, config.childEnv);
  stack = await startStack({ config, logger, transport });
} catch (error) {
  fail(error);
}
process.off('SIGINT', interruptStart);
process.off('SIGTERM', interruptStart);
process.off('SIGHUP', interruptStart);

console.log(`
Sluice local stack is running (${stack.transport === 'spool' ? 'spool transport, no emulator' : 'Pub/Sub emulator'}).
  Collector URL : ${stack.collectorUrl}
  Write key     : ${stack.writeKey}
  DuckDB        : ${stack.duckdbPath}
  Raw files     : ${stack.rawBucketDir}
  Window        : ${config.windowSeconds} s
  Logs          : ${config.logsDir}

Try:
  curl -u '${stack.writeKey}:' -H 'content-type: application/json' \\
    -d '{"userId":"u1","event":"Signed Up","properties":{"plan":"pro"}}' ${stack.collectorUrl}/v1/track
  npm run query -- "SELECT event, count(*) FROM tracks GROUP BY event"

Ctrl-C to stop.`);
if (stack.transport === 'spool') console.log(SPOOL_NOTE);

let stopping = false;
const shutdown = async (why: string, exitCode = 0): Promise<void> => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${why}: stopping (collector drains first, then the open window is written and loaded)...`);
  try {
    await stack.stop();
    console.log('stopped; nothing left running.');
    process.exit(exitCode);
  } catch (error) {
    console.error('stop failed:', error);
    process.exit(1);
  }
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGHUP', () => void shutdown('SIGHUP'));
// A dead child means a broken stack: say which and why, stop the rest, exit 1.
void stack.childExited.then(({ name, reason }) => {
  console.error(`SLUICE_ERR_LOCAL_CHILD_EXITED: the ${name} ${reason} (log: ${config.logsDir}/${name}.log)`);
  void shutdown(`${name} died`, 1);
});
// Whoever started us (npm, a shell) was killed without passing a signal on: we are reparented, so stop too.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void shutdown('parent process gone');
}, 500).unref();
