// Holds the DuckDB file at argv[2] open READ_WRITE (the process-level file lock) until SIGTERM: "another process
// has the warehouse open", as a user's SQL client would. Prints `held` once the lock is taken.
import { DuckDBInstance } from '@duckdb/node-api';

const path = process.argv[2];
if (!path) throw new Error('usage: duckdb-holder.ts <warehouse.duckdb>');
const instance = await DuckDBInstance.create(path);
const connection = await instance.connect();
await connection.run('SELECT 1');
process.stdout.write('held\n');
process.on('SIGTERM', () => {
  connection.closeSync();
  instance.closeSync();
  process.exit(0);
});
setInterval(() => undefined, 1000);
