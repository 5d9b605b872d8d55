// `npm run load -- [--force] <file...>`: loads local raw files (or gs:// objects, once Cloud Storage is wired)
// through the same code path as the loadEvents function. Idempotent: a file already loaded is skipped unless --force
// (then only events missing from the warehouse are added; rows are de-duplicated on id).
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { loadAndReport, processSettings, resolveTarget, runCli } from './run-loads.ts';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { force: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help || positionals.length === 0) {
    console.log('usage: npm run load -- [--force] <file|gs://bucket/name>...');
    console.log(processSettings());
    return positionals.length === 0 && !values.help ? 2 : 0;
  }
  const config = loadConfig();
  const logger = createLogger(process.env.SLUICE_LOG_LEVEL ?? 'warn');
  const targets = [];
  for (const arg of positionals) targets.push(await resolveTarget(arg, config));
  return loadAndReport(targets, config, logger, values.force ?? false);
}

runCli(main);
