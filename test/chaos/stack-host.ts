// Runs the local stack in its own process, as `npm run dev` does (so a scenario can SIGKILL the process that hosts
// the storage-subscription stand-in). Settings from the environment (infra/local's loadConfig; SLUICE_PORT fixes
// the collector's port across restarts). Prints one JSON line describing the stack once it is up; SIGTERM stops it.
import { loadConfig, startStack } from '@sluice/infra/local';
import { pino } from 'pino';

const config = loadConfig(process.env);
const stack = await startStack({ config, logger: pino({ level: 'warn' }, pino.destination(2)) });
process.stdout.write(
  `${JSON.stringify({ collectorUrl: stack.collectorUrl, loaderUrl: stack.loaderUrl, processes: stack.processes })}\n`,
);
let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  stack.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`stop failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
});
