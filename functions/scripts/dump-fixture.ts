// Prints what a fixture input produces (tables, failed events, loads counts, schema changes) as the JSON shape of
// `<case>.expected.json`, for review when writing a new fixture: `npx tsx functions/scripts/dump-fixture.ts <case>`.
// Never copy its output into an expected file without checking every row by hand.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseContracts } from '../src/schema/contracts.ts';
import { testWarehouse } from '../test/helpers/warehouse.ts';

const name = process.argv[2];
if (!name) throw new Error('usage: dump-fixture.ts <case> [settings-json]');
const dir = path.join(import.meta.dirname, '..', 'test', 'fixtures');
const settingsArg = process.argv[3] ? (JSON.parse(process.argv[3]) as Record<string, unknown>) : {};
const wh = await testWarehouse();
const setup = path.join(dir, `${name}.setup.ndjson`);
if (existsSync(setup)) {
  await wh.put('raw/2026-01-01/00_00_00+00:00_00000000-setup.ndjson', readFileSync(setup));
  await wh.load('raw/2026-01-01/00_00_00+00:00_00000000-setup.ndjson');
}
await wh.put(
  'raw/2026-01-01/00_00_00+00:00_00000000-fixture.ndjson',
  readFileSync(path.join(dir, `${name}.input.ndjson`)),
);
const { contracts, ...rest } = settingsArg;
const settings: Record<string, unknown> = { ...rest };
if (contracts) {
  const parsed = parseContracts(contracts);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  settings.contracts = parsed.contracts;
}
await wh.load('raw/2026-01-01/00_00_00+00:00_00000000-fixture.ndjson', { settings });
const tables: Record<string, unknown> = {};
for (const { table_name } of await wh.query(
  "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name",
)) {
  const t = String(table_name);
  if (t.startsWith('_sluice_')) continue;
  const cols = (
    await wh.query(`SELECT column_name FROM information_schema.columns WHERE table_name = '${t}'`)
  ).map((c) => String(c.column_name));
  tables[t] = await wh.query(
    `SELECT * EXCLUDE (loaded_at, _sluice_load_id) FROM "${t}" ORDER BY ${cols.includes('_sluice_id') ? '_sluice_id' : 'id'}`,
  );
}
const failed = await wh.query(
  "SELECT line, error_code, reason, raw_line IS NOT NULL AS kept FROM _sluice_failed_events WHERE name LIKE '%fixture%' ORDER BY line",
);
const [load] = await wh.query(
  "SELECT lines_read, events_loaded, duplicates, failed, values_discarded FROM _sluice_loads WHERE name LIKE '%fixture%'",
);
const changes = await wh.query(
  "SELECT table_name, column_name, change, to_type FROM _sluice_schema_changes WHERE change <> 'create_table' AND load_id = (SELECT load_id FROM _sluice_loads WHERE name LIKE '%fixture%') AND column_name NOT IN ('loaded_at', '_sluice_load_id') ORDER BY rowid",
);
console.log(JSON.stringify({ tables, failed, load, changes }, null, 1));
await wh.cleanup();
