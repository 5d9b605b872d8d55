import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BUCKET,
  DEFAULT_SETTINGS,
  eventLine,
  type TestWarehouse,
  testWarehouse,
} from '../../../test/helpers/warehouse.ts';
import { loadObject } from '../../load/load-object.ts';
import { createLogger } from '../../logger.ts';
import { duckdbDestination } from './duckdb-destination.ts';
import { DuckDBInstances } from './instances.ts';

const FILE = (n: number) => `raw/2026-01-01/00_0${n}_00+00:00_00000000-0000-0000-0000-00000000000${n}.ndjson`;
const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Opens the warehouse in another process (DuckDB's lock is per process, as for `npm run query`) and counts the rows
 * of `table`; the child's error text when it cannot open the file.
 */
function countInAnotherProcess(dbPath: string, table: string): { count?: number; error?: string } {
  const script = `import { DuckDBInstance } from '@duckdb/node-api';
    try {
      const i = await DuckDBInstance.create(${JSON.stringify(dbPath)});
      const c = await i.connect();
      const r = await c.runAndReadAll('SELECT count(*)::INTEGER FROM ${table}');
      console.log(JSON.stringify({ count: r.getRows()[0][0] }));
      c.closeSync(); i.closeSync();
    } catch (e) { console.log(JSON.stringify({ error: String(e.message).split('\\n')[0] })); }`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: here,
    encoding: 'utf8',
  });
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { count?: number; error?: string };
}

describe('DuckDB loads queued in one process: one instance handed on, closed when idle', () => {
  let wh: TestWarehouse;
  afterEach(async () => wh?.cleanup());

  const loadAll = (instances: DuckDBInstances, names: string[]) =>
    Promise.all(
      names.map((name) =>
        loadObject(
          {
            store: wh.store,
            destination: duckdbDestination({ path: wh.dbPath, lockTimeoutMs: 20_000, instances }),
            settings: DEFAULT_SETTINGS,
            logger: createLogger('silent'),
          },
          { bucket: BUCKET, name, generation: '1' },
        ),
      ),
    );

  it('three loads at once (two files sharing ids, one delivered twice): each event once, one instance, then released', async () => {
    wh = await testWarehouse();
    const lines = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, k) =>
        eventLine({ messageId: `m-${from + k}`, properties: { total: from + k } }),
      ).join('\n');
    await wh.put(FILE(1), `${lines(0, 300)}\n`);
    await wh.put(FILE(2), `${lines(200, 500)}\n`);
    const instances = new DuckDBInstances();
    const outcomes = await loadAll(instances, [FILE(1), FILE(2), FILE(1)]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['already_loaded', 'loaded', 'loaded']);
    // Queued behind the first, the others were handed its instance: opened once for three loads.
    expect(instances.opened).toBe(1);
    // Nothing queued any more: the file is closed, and another process can open it at once.
    expect(countInAnotherProcess(wh.dbPath, 'order_completed')).toEqual({ count: 500 });
    const loads = await wh.query(
      'SELECT name, lines_read, events_loaded, duplicates, failed FROM _sluice_loads ORDER BY name',
    );
    expect(loads).toHaveLength(2);
    for (const l of loads) {
      expect(Number(l.lines_read)).toBe(Number(l.events_loaded) + Number(l.duplicates) + Number(l.failed));
    }
    expect(loads.map((l) => Number(l.duplicates)).sort()).toEqual([0, 100]);
    const ids = await wh.query(
      'SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS d FROM order_completed',
    );
    expect(ids).toEqual([{ n: 500, d: 500 }]);
  });

  it('a load handed the instance sees the schema the previous one committed (columns added, a column widened)', async () => {
    wh = await testWarehouse();
    await wh.put(FILE(1), `${eventLine({ messageId: 'a', properties: { total: 1, plan: 'x' } })}\n`);
    await wh.put(FILE(2), `${eventLine({ messageId: 'b', properties: { total: 1.5, coupon: 'y' } })}\n`);
    await wh.put(
      FILE(3),
      `${eventLine({ messageId: 'c', properties: { total: 2, coupon: 'z', extra: true } })}\n`,
    );
    const instances = new DuckDBInstances();
    const outcomes = await loadAll(instances, [FILE(1), FILE(2), FILE(3)]);
    expect(outcomes.map((o) => o.status)).toEqual(['loaded', 'loaded', 'loaded']);
    expect(instances.opened).toBe(1);
    const rows = await wh.query('SELECT id, total, plan, coupon, extra FROM order_completed ORDER BY id');
    expect(rows).toEqual([
      { id: 'a', total: 1, plan: 'x', coupon: null, extra: null },
      { id: 'b', total: 1.5, plan: null, coupon: 'y', extra: null },
      { id: 'c', total: 2, plan: null, coupon: 'z', extra: true },
    ]);
  });

  it('past the reuse limit the instance is closed and reopened even with loads queued', async () => {
    wh = await testWarehouse();
    for (const n of [1, 2, 3]) await wh.put(FILE(n), `${eventLine({ messageId: `m${n}` })}\n`);
    const instances = new DuckDBInstances(0);
    const outcomes = await loadAll(instances, [FILE(1), FILE(2), FILE(3)]);
    expect(outcomes.map((o) => o.status)).toEqual(['loaded', 'loaded', 'loaded']);
    expect(instances.opened).toBe(3);
    expect(countInAnotherProcess(wh.dbPath, 'order_completed')).toEqual({ count: 3 });
  });

  it('a load that fails does not leave a stale schema for the next one, and the next one loads', async () => {
    wh = await testWarehouse();
    await wh.put(FILE(1), `${eventLine({ messageId: 'a', properties: { total: 1, plan: 'x' } })}\n`);
    await wh.put(FILE(2), `${eventLine({ messageId: 'b', properties: { total: 2, coupon: 'y' } })}\n`);
    const instances = new DuckDBInstances();
    // The first load's commit fails after its DDL ran (injected as the event ids are inserted): all of it rolls back.
    let injected = false;
    const first = loadObject(
      {
        store: wh.store,
        destination: duckdbDestination({
          path: wh.dbPath,
          lockTimeoutMs: 20_000,
          instances,
          profiler: (step) => {
            if (!injected && step.startsWith('INSERT INTO "…" (id, received_at, load_id)')) {
              injected = true;
              throw new Error('IO Error: disk gone (injected)');
            }
          },
        }),
        settings: DEFAULT_SETTINGS,
        logger: createLogger('silent'),
      },
      { bucket: BUCKET, name: FILE(1), generation: '1' },
    ).catch((e: unknown) => e);
    const [failed, second] = await Promise.all([first, loadAll(instances, [FILE(2)])]);
    expect(injected).toBe(true);
    expect(failed).toMatchObject({ code: 'SLUICE_ERR_LOAD_DESTINATION_UNAVAILABLE' });
    expect(second.map((o) => o.status)).toEqual(['loaded']);
    expect(await wh.query('SELECT id, total::DOUBLE AS total, coupon FROM order_completed')).toEqual([
      { id: 'b', total: 2, coupon: 'y' },
    ]);
    // The failed load's column was rolled back with it.
    const columns = await wh.query(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'order_completed' AND column_name = 'plan'",
    );
    expect(columns).toEqual([]);
    expect(countInAnotherProcess(wh.dbPath, 'order_completed')).toEqual({ count: 1 });
  });
});
