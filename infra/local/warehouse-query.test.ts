import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLocalError } from './errors.ts';
import { countRowsByIdPrefix } from './warehouse-counts.ts';
import { formatTable, queryWarehouse } from './warehouse-query.ts';

describe('warehouse query (read-only DuckDB)', () => {
  let dir: string;
  let path: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-query-'));
    path = join(dir, 'warehouse.duckdb');
    const instance = await DuckDBInstance.create(path);
    const connection = await instance.connect();
    await connection.run("CREATE TABLE tracks AS SELECT 'run1-' || range AS id, 'x' AS event FROM range(3)");
    await connection.run("INSERT INTO tracks VALUES ('other-1', 'y')");
    await connection.run("CREATE TABLE pages AS SELECT 'run1-9' AS id, NULL AS name");
    await connection.run("CREATE TABLE _sluice_event_ids AS SELECT 'run1-0' AS id");
    connection.closeSync();
    instance.closeSync();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a statement and formats an aligned table', async () => {
    const result = await queryWarehouse(path, 'SELECT id, event FROM tracks ORDER BY id LIMIT 2');
    expect(result).toEqual({
      columns: ['id', 'event'],
      rows: [
        ['other-1', 'y'],
        ['run1-0', 'x'],
      ],
    });
    expect(formatTable(result)).toBe(
      ['id      | event', '--------+------', 'other-1 | y    ', 'run1-0  | x    ', '(2 rows)'].join('\n'),
    );
  });

  it('counts rows per table by id prefix, skipping bookkeeping tables', async () => {
    expect(await countRowsByIdPrefix(path, 'run1-')).toEqual({ pages: 1, tracks: 3 });
    expect(await countRowsByIdPrefix(join(dir, 'missing.duckdb'), 'run1-')).toEqual({});
  });

  it('reports bad SQL and a missing file with coded errors', async () => {
    const bad = await queryWarehouse(path, 'SELECT * FROM nope').catch((e: unknown) => e);
    expect(isLocalError(bad, 'SLUICE_ERR_LOCAL_QUERY')).toBe(true);
    const missing = await queryWarehouse(join(dir, 'missing.duckdb'), 'SELECT 1').catch((e: unknown) => e);
    expect(isLocalError(missing, 'SLUICE_ERR_LOCAL_QUERY')).toBe(true);
  });
});
