import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type TestWarehouse, testWarehouse } from '../../test/helpers/warehouse.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const MAP = 'SELECT id_type, id_value, person_id, component_id FROM identity_map ORDER BY ALL';

describe('npm run identity', () => {
  let wh: TestWarehouse | undefined;
  afterEach(async () => {
    await wh?.cleanup();
    wh = undefined;
  });

  it('rebuild re-derives the graph from the event tables, with the contracts file rules', async () => {
    wh = await testWarehouse();
    const ev = (o: Record<string, unknown>) =>
      JSON.stringify({ type: 'identify', context: {}, timestamp: '2026-01-01T00:00:00Z', traits: {}, ...o });
    await wh.put(
      'f.ndjson',
      `${ev({ messageId: 'i1', anonymousId: 'a1', userId: 'u1', traits: { email: 'x@example.com' } })}\n${ev({ messageId: 'i2', anonymousId: 'a2', traits: { email: 'x@example.com' } })}\n`,
    );
    await wh.load('f.ndjson');
    // Loaded without trait ids: a2 (an anonymous identify) links nothing. The contracts file now makes email an id
    // type; rebuild applies it to the events already loaded.
    expect(await wh.query('SELECT count(*) AS n FROM identity_map')).toEqual([{ n: '2' }]);
    const contracts = path.join(wh.dir, 'contracts.json');
    await import('node:fs/promises').then((fs) =>
      fs.writeFile(contracts, JSON.stringify({ identity: { traitIdTypes: ['email'] } })),
    );
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'functions/src/cli/identity.ts'), 'rebuild'],
      {
        cwd: root,
        encoding: 'utf8',
        env: {
          ...process.env,
          SLUICE_DUCKDB_PATH: wh.dbPath,
          SLUICE_SCHEMA_CONTRACTS: contracts,
          SLUICE_LOG_LEVEL: 'silent',
        },
      },
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('rebuild: 3 edge(s), 4 id(s), 1 component(s)');
    expect(await wh.query('SELECT count(DISTINCT person_id) AS n FROM identity_map')).toEqual([{ n: '1' }]);
    expect((await wh.query(MAP)).map((r) => `${r.id_type}:${r.id_value}`)).toEqual([
      'anonymous_id:a1',
      'anonymous_id:a2',
      'email:x@example.com',
      'user_id:u1',
    ]);
  }, 60_000);
});
