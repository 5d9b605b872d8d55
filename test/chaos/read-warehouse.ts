// Reads the warehouse for the chaos harness in a separate process, so that DuckDB failing natively on a file a
// crash left corrupt (issue 12 item 1) cannot take the test runner down. `state <path>` prints the warehouse
// state as JSON; `row <path> <table> <id>` prints that row's columns as text.
import { readWarehouse, rowAsText } from './harness/warehouse.ts';

const [mode, path, table, id] = process.argv.slice(2);
if (!path) throw new Error('usage: read-warehouse.ts state|row <warehouse.duckdb> [table id]');
if (mode === 'row') {
  process.stdout.write(JSON.stringify(await rowAsText(path, table ?? '', id ?? '')));
} else {
  const state = await readWarehouse(path);
  process.stdout.write(JSON.stringify({ ...state, idCounts: [...state.idCounts] }));
}
