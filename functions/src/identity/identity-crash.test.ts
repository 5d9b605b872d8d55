import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { withStore } from '../../test/helpers/identity.ts';
import { BUCKET, DEFAULT_SETTINGS, type TestWarehouse, testWarehouse } from '../../test/helpers/warehouse.ts';
import { duckdbDestination } from '../destinations/duckdb/duckdb-destination.ts';
import { DuckDBInstances } from '../destinations/duckdb/instances.ts';
import { loadObject } from '../load/load-object.ts';
import { createLogger } from '../logger.ts';
import { DEFAULT_IDENTITY_RULES } from '../schema/identity-rules.ts';
import { rebuildIdentity } from './rebuild.ts';

const MAP = `SELECT id_type, id_value, person_id, component_id FROM identity_map ORDER BY ALL`;
const at = (m: number) => `2026-01-01T00:0${m}:00.000Z`;
const ev = (o: Record<string, unknown>) =>
  JSON.stringify({ type: 'identify', context: {}, receivedAt: at(0), traits: {}, ...o });

/** File A makes a person (a1, u1); file B joins a second device to it and meets a shared device (u2). */
const FILE_A = `${ev({ messageId: 'i1', anonymousId: 'a1', userId: 'u1', timestamp: at(1) })}\n`;
const FILE_B = `${[
  ev({ messageId: 'i2', anonymousId: 'a2', userId: 'u1', timestamp: at(2) }),
  ev({ messageId: 'i3', anonymousId: 'a1', userId: 'u2', timestamp: at(3) }),
  ev({ type: 'page', messageId: 'p1', anonymousId: 'a3', userId: 'u2', timestamp: at(4), properties: {} }),
].join('\n')}\n`;

describe('identity upkeep survives a SIGKILL at the worst moment', () => {
  let wh: TestWarehouse | undefined;
  afterEach(async () => {
    await wh?.cleanup();
    wh = undefined;
  });

  /** Loads A, then B in a child killed at `point`; checks what the kill left, redelivers B, compares with a rebuild. */
  async function killAndRedeliver(w: TestWarehouse, point: 'after_commit' | 'mid_write'): Promise<void> {
    await w.put('a.ndjson', FILE_A);
    await w.put('b.ndjson', FILE_B);
    await w.load('a.ndjson');
    const beforeB = await w.query(MAP);
    const helper = fileURLToPath(new URL('../../test/helpers/identity-crash-load.ts', import.meta.url));
    const child = spawn(process.execPath, [
      '--import',
      'tsx',
      helper,
      w.dbPath,
      w.bucketsDir,
      BUCKET,
      'b.ndjson',
      point,
    ]);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, sig) => resolve(sig)),
    );
    expect(stderr, point).toBe('');
    expect(signal, point).toBe('SIGKILL');
    // B's events and edges committed; its map update did not (or was rolled back).
    expect(await w.query("SELECT count(*) AS n FROM _sluice_loads WHERE name = 'b.ndjson'")).toEqual([
      { n: '1' },
    ]);
    expect(
      await w.query("SELECT count(*) AS n FROM identity_edge_log WHERE event_id IN ('i2', 'i3', 'p1')"),
    ).toEqual([{ n: '3' }]);
    expect(await w.query(MAP), point).toEqual(beforeB);
    // The trigger redelivers B: already loaded, and the upkeep runs again.
    const redelivery = await w.load('b.ndjson');
    expect(redelivery.status).toBe('already_loaded');
    const incremental = await w.query(MAP);
    expect(incremental).toHaveLength(5);
    await withStore(w.destination(), (st) => rebuildIdentity(st, DEFAULT_IDENTITY_RULES));
    expect(await w.query(MAP), point).toEqual(incremental);
  }

  it('killed between the commit and the upkeep, and inside the map write (two warehouses at once): the redelivery leaves the map equal to a rebuild', async () => {
    const w1 = await testWarehouse();
    const w2 = await testWarehouse();
    try {
      await Promise.all([killAndRedeliver(w1, 'after_commit'), killAndRedeliver(w2, 'mid_write')]);
    } finally {
      await w1.cleanup();
      await w2.cleanup();
    }
  }, 90_000);

  it('two loads at once touching one person (one process, shared DuckDB instances): the map equals a rebuild', async () => {
    wh = await testWarehouse();
    await wh.put('a.ndjson', FILE_A);
    await wh.put('b.ndjson', FILE_B);
    const instances = new DuckDBInstances();
    const run = (name: string) =>
      loadObject(
        {
          store: wh!.store,
          destination: duckdbDestination({ path: wh!.dbPath, lockTimeoutMs: 10_000, instances }),
          settings: DEFAULT_SETTINGS,
          logger: createLogger('silent'),
        },
        { bucket: BUCKET, name, generation: '1' },
      );
    const outcomes = await Promise.all([run('b.ndjson'), run('a.ndjson')]);
    expect(outcomes.map((o) => o.status)).toEqual(['loaded', 'loaded']);
    const incremental = await wh.query(MAP);
    expect(incremental).toHaveLength(5);
    await withStore(wh.destination(), (s) => rebuildIdentity(s, DEFAULT_IDENTITY_RULES));
    expect(await wh.query(MAP)).toEqual(incremental);
  }, 60_000);
});
