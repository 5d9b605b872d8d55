import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LoadSettings } from '../src/load/load-object.ts';
import { parseContracts } from '../src/schema/contracts.ts';
import { SEGMENT_COLUMNS } from '../src/schema/segment-columns.ts';
import { ROOT_TABLES } from '../src/schema/segment-layout.ts';
import { upsertTableNamed } from '../src/schema/upsert-tables.ts';
import { type TestWarehouse, testWarehouse } from './helpers/warehouse.ts';

/**
 * Fixture pairs: `fixtures/<case>.input.ndjson` is loaded as one raw file; `fixtures/<case>.expected.json` lists
 * every table the load creates with its exact rows (all columns but `loaded_at` / `_sluice_load_id`, which vary),
 * the failed events (line + code) and the loads-row counts. Optional `settings` in the expected file override the
 * load settings (contracts, limits). An optional `fixtures/<case>.setup.ndjson` is loaded first with default
 * settings (to give a contract an existing table); its rows are part of the expected tables.
 */
const dir = path.join(import.meta.dirname, 'fixtures');
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.input.ndjson'))
  .map((f) => f.slice(0, -'.input.ndjson'.length))
  .sort();

interface Expected {
  description: string;
  settings?: Partial<Omit<LoadSettings, 'contracts'>> & { contracts?: unknown };
  tables: Record<string, Record<string, unknown>[]>;
  failed: { line: number; error_code: string; raw_line_kept?: boolean }[];
  load: {
    lines_read: number;
    events_loaded: number;
    duplicates: number;
    failed: number;
    values_discarded?: number;
  };
  schema_changes?: {
    table_name: string;
    column_name: string | null;
    change: string;
    to_type: string | null;
  }[];
}

const BOOKKEEPING = /^_sluice_/;
const IDENTITY_RELATIONS = /^(identity_(edge_log|edges|map|merges)|persons|[a-z]+_stitched)$/;

/** DuckDB's name of each logical type (information_schema.columns.data_type). */
const DUCKDB_TYPE: Record<string, string> = { STRING: 'VARCHAR', TIMESTAMP: 'TIMESTAMP WITH TIME ZONE' };
const PRESET_NAMES = new Set(Object.values(SEGMENT_COLUMNS).flatMap((cols) => cols.map((c) => c.name)));

/**
 * Every Segment table (the type tables, and each track event's own table: the tables whose names are not child
 * tables, the upsert tables `users` and `accounts`, or bookkeeping) has Segment's common columns of its type, typed as Segment types them (issue 14
 * item 7). Checked for every fixture.
 */
async function expectSegmentColumns(wh: TestWarehouse): Promise<void> {
  const rows = await wh.query(
    "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'main'",
  );
  const tables = new Map<string, Map<string, string>>();
  for (const r of rows) {
    const name = String(r.table_name);
    if (BOOKKEEPING.test(name) || IDENTITY_RELATIONS.test(name)) continue;
    if (name.includes('__') || upsertTableNamed(name) !== undefined) continue;
    if (!tables.has(name)) tables.set(name, new Map());
    tables.get(name)?.set(String(r.column_name), String(r.data_type));
  }
  const typeOf = Object.fromEntries(Object.entries(ROOT_TABLES).map(([type, table]) => [table, type]));
  for (const [table, cols] of tables) {
    const type = (typeOf[table] ?? 'track') as keyof typeof SEGMENT_COLUMNS;
    const want = SEGMENT_COLUMNS[type].map((c) => [c.name, DUCKDB_TYPE[c.type]]);
    expect(
      want.map(([name]) => [name, cols.get(name as string)]),
      table,
    ).toEqual(want);
  }
}

/**
 * The tables' rows. A Segment common column the expected rows do not list must be NULL in every row (the fixture
 * predates it or has no value for it): it is left out, so each fixture lists the columns its events give values to.
 */
async function actualTables(
  wh: TestWarehouse,
  expected: Record<string, Record<string, unknown>[]>,
): Promise<Record<string, Record<string, unknown>[]>> {
  const tables = await wh.query(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name",
  );
  const out: Record<string, Record<string, unknown>[]> = {};
  for (const { table_name } of tables) {
    const name = String(table_name);
    // The identity graph's tables and views have their own fixtures (identity-fixtures.test.ts).
    if (BOOKKEEPING.test(name) || IDENTITY_RELATIONS.test(name)) continue;
    const cols = (
      await wh.query(`SELECT column_name FROM information_schema.columns WHERE table_name = '${name}'`)
    ).map((c) => String(c.column_name));
    const order = cols.includes('_sluice_id') ? '_sluice_id' : 'id';
    const rows = await wh.query(
      `SELECT * EXCLUDE (loaded_at, _sluice_load_id) FROM "${name}" ORDER BY ${order}`,
    );
    const listed = new Set((expected[name] ?? []).flatMap((r) => Object.keys(r)));
    const unlisted = cols.filter((c) => PRESET_NAMES.has(c) && !listed.has(c));
    for (const row of rows) {
      for (const c of unlisted) {
        expect(row[c], `${name}.${c}`).toBeNull();
        delete row[c];
      }
    }
    out[name] = rows;
  }
  return out;
}

describe('loader fixtures (input NDJSON -> exact rows per table)', () => {
  let wh: TestWarehouse | undefined;
  afterEach(async () => {
    await wh?.cleanup();
    wh = undefined;
  });

  it('has fixtures', () => {
    expect(cases.length).toBeGreaterThanOrEqual(10);
  });

  for (const name of cases) {
    const expected = JSON.parse(readFileSync(path.join(dir, `${name}.expected.json`), 'utf8')) as Expected;
    it(`${name}: ${expected.description}`, async () => {
      wh = await testWarehouse();
      await wh.put(
        'raw/2026-01-01/00_00_00+00:00_00000000-fixture.ndjson',
        readFileSync(path.join(dir, `${name}.input.ndjson`)),
      );
      const { contracts, ...rest } = expected.settings ?? {};
      const settings: Partial<LoadSettings> = { ...rest };
      if (contracts !== undefined) {
        const parsed = parseContracts(contracts);
        if (!parsed.ok) throw new Error(parsed.problems.join('; '));
        settings.contracts = parsed.contracts;
      }
      const setup = path.join(dir, `${name}.setup.ndjson`);
      if (existsSync(setup)) {
        await wh.put('raw/2026-01-01/00_00_00+00:00_00000000-setup.ndjson', readFileSync(setup));
        await wh.load('raw/2026-01-01/00_00_00+00:00_00000000-setup.ndjson');
      }
      const outcome = await wh.load('raw/2026-01-01/00_00_00+00:00_00000000-fixture.ndjson', { settings });
      expect(outcome.status).toBe('loaded');

      expect(await actualTables(wh, expected.tables)).toEqual(expected.tables);
      await expectSegmentColumns(wh);

      const failed = await wh.query(
        "SELECT line, error_code, raw_line IS NOT NULL AS kept FROM _sluice_failed_events WHERE name LIKE '%fixture%' ORDER BY line",
      );
      expect(failed.map((f) => ({ line: Number(f.line), error_code: f.error_code }))).toEqual(
        expected.failed.map(({ line, error_code }) => ({ line, error_code })),
      );
      for (const f of expected.failed) {
        if (f.raw_line_kept === undefined) continue;
        expect(failed.find((r) => Number(r.line) === f.line)?.kept).toBe(f.raw_line_kept);
      }

      const [load] = await wh.query("SELECT * FROM _sluice_loads WHERE name LIKE '%fixture%'");
      expect({
        lines_read: Number(load?.lines_read),
        events_loaded: Number(load?.events_loaded),
        duplicates: Number(load?.duplicates),
        failed: Number(load?.failed),
        ...(expected.load.values_discarded === undefined
          ? {}
          : { values_discarded: Number(load?.values_discarded) }),
      }).toEqual(expected.load);
      // Reconciliation, for every fixture.
      expect(Number(load?.lines_read)).toBe(
        Number(load?.events_loaded) + Number(load?.duplicates) + Number(load?.failed),
      );

      if (expected.schema_changes) {
        const changes = await wh.query(
          `SELECT table_name, column_name, change, to_type FROM _sluice_schema_changes WHERE change <> 'create_table' AND load_id = (SELECT load_id FROM _sluice_loads WHERE name LIKE '%fixture%') AND column_name NOT IN ('loaded_at', '_sluice_load_id') AND NOT (change = 'add_column' AND column_name IN (${[...PRESET_NAMES].map((n) => `'${n}'`).join(', ')})) ORDER BY rowid`,
        );
        expect(changes).toEqual(expected.schema_changes);
      }
    });
  }
});
