/**
 * `npm run dev`: runs the local stack in the foreground until Ctrl-C (SIGINT) or SIGTERM.
 * Settings: see docs/local.md (SLUICE_PORT, SLUICE_WRITE_KEY, SLUICE_DATA_DIR, SLUICE_WINDOW_SECONDS, ...).
 */
import { pino } from 'pino';
import { buildLoader } from '../build-loader.ts';
import { loadConfig } from '../config.ts';
import { isLocalError } from '../errors.ts';
import { type LocalStack, startStack } from '../stack.ts';

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
try {
  buildLoader(config.repoRoot, config.childEnv);
  stack = await startStack({ config, logger });
} catch (error) {
  fail(error);
}
process.off('SIGINT', interruptStart);
process.off('SIGTERM', interruptStart);

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

let stopping = false;
const shutdown = async (signal: string): Promise<void> => {
  if (stopping) return;
  stopping = true;
  console.log(
    `\n${signal}: stopping (collector drains first, then the open window is written and loaded)...`,
  );
  try {
    await stack.stop();
    console.log('stopped; nothing left running.');
    process.exit(0);
  } catch (error) {
    console.error('stop failed:', error);
    process.exit(1);
  }
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
