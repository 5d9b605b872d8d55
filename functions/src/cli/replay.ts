// `npm run replay -- --from <date> --to <date> [--bucket b] [--force] [--dry-run]`: re-loads the raw files of a
// date range from the bucket (backfill after an outage or a contract change). Files are selected by the window
// time in their names (parseRawObjectTime). Safe to run twice: loaded files are skipped; with --force they are
// loaded again and rows are de-duplicated on event id, so nothing doubles.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { createObjectStore } from '../storage/create-object-store.ts';
import { parseRange, selectObjects } from './replay-range.ts';
import { loadAndReport, processSettings, runCli, type Target } from './run-loads.ts';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      bucket: { type: 'string' },
      force: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || !values.from || !values.to) {
    console.log(
      'usage: npm run replay -- --from <YYYY-MM-DD[Thh:mm:ssZ]> --to <date> [--bucket b] [--force] [--dry-run]',
    );
    console.log(processSettings());
    return values.help ? 0 : 2;
  }
  const range = parseRange(values.from, values.to);
  if (!range.ok) {
    console.error(range.problem);
    return 2;
  }
  const config = loadConfig();
  const logger = createLogger(process.env.SLUICE_LOG_LEVEL ?? 'warn');
  const bucket = values.bucket ?? config.rawBucket;
  const store = await createObjectStore(config);
  const selected = await selectObjects(store, bucket, range);
  console.log(
    `${selected.length} file(s) in ${bucket} between ${range.from.toISOString()} and ${range.to.toISOString()}`,
  );
  if (values['dry-run']) {
    for (const o of selected) console.log(`  ${o.name}`);
    return 0;
  }
  const targets: Target[] = selected.map((o) => ({
    store,
    ref: { bucket, name: o.name, generation: o.generation },
  }));
  return loadAndReport(targets, config, logger, values.force ?? false);
}

runCli(main);
