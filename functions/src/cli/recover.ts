// `npm run recover`: makes a DuckDB warehouse that a crash left unopenable (e.g. `Failure while replaying WAL
// file`) open again, keeping a copy of what it sets aside. Stop the loader (`npm run dev`) first.
import { loadConfig } from '../config.ts';
import { recoverWarehouse } from '../destinations/duckdb/recover.ts';
import { runCli } from './run-loads.ts';

async function main(): Promise<number> {
  const config = loadConfig();
  const result = await recoverWarehouse(config.duckdbPath);
  switch (result.status) {
    case 'healthy':
      console.log(`${config.duckdbPath} opens: nothing to recover`);
      return 0;
    case 'recovered':
      console.log(`${config.duckdbPath} did not open: ${result.error}`);
      console.log(`recovered: the file opens at its last checkpoint; the WAL and a copy of the file are in`);
      console.log(`  ${result.backupDir}`);
      console.log('loads the WAL held are missing now; load them again (loaded files are skipped):');
      console.log('  npm run replay -- --from <day before the crash> --to <now>');
      return 0;
    case 'unrecoverable':
      console.error(`${config.duckdbPath} does not open: ${result.error}`);
      if (result.backupDir) console.error(`(the WAL and a copy of the file are in ${result.backupDir})`);
      console.error(
        'rebuild it from the raw files: move the file aside, then npm run replay over the retention range',
      );
      return 1;
    default: {
      const never: never = result;
      return never;
    }
  }
}

runCli(main);
