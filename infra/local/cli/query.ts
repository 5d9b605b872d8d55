/**
 * `npm run query -- "<SQL>"`: runs one statement against the local warehouse (read-only) and prints a table.
 * Safe while the stack runs: the loader holds the DuckDB file only during a load; a locked file is retried.
 */
import { loadConfig } from '../config.ts';
import { isLocalError } from '../errors.ts';
import { formatTable, queryWarehouse } from '../warehouse-query.ts';

const sql = process.argv.slice(2).join(' ').trim();
if (sql === '') {
  console.error('usage: npm run query -- "<SQL>"   e.g. npm run query -- "SELECT count(*) FROM tracks"');
  process.exit(2);
}
const config = loadConfig();
try {
  console.log(formatTable(await queryWarehouse(config.duckdbPath, sql)));
} catch (error) {
  if (isLocalError(error)) {
    const detail = error.cause instanceof Error ? error.cause.message : '';
    const cause = detail && !error.message.includes(detail) ? `\n  ${detail}` : '';
    console.error(`${error.code}: ${error.message}${cause}`);
  } else {
    console.error(error);
  }
  process.exit(1);
}
