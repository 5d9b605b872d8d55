import { afterAll, describe, expect, it } from 'vitest';
import { FakeBigQueryEngine } from './fake-bigquery-engine.ts';

const MB = 1024 * 1024;

describe('fake BigQuery views', () => {
  const engine = new FakeBigQueryEngine();
  afterAll(() => engine.close());

  it('a query on a view runs its definition and bills its base tables (10 MB minimum each), views of views included', async () => {
    const t = await engine.createTable('ds', 'events', {
      schema: {
        fields: [
          { name: 'id', type: 'STRING' },
          { name: 'user_id', type: 'STRING' },
        ],
      },
    });
    await engine.insertRows(
      t,
      [
        { id: 'e1', user_id: 'u1' },
        { id: 'e2', user_id: 'u2' },
      ],
      false,
    );
    const m = await engine.createTable('ds', 'names', {
      schema: {
        fields: [
          { name: 'user_id', type: 'STRING' },
          { name: 'name', type: 'STRING' },
        ],
      },
    });
    await engine.insertRows(m, [{ user_id: 'u1', name: 'Ann' }], false);
    await engine.createTable('ds', 'named', {
      view: {
        useLegacySql: false,
        query: 'SELECT e.*, n.name FROM `p.ds.events` e LEFT JOIN `p.ds.names` n ON n.user_id = e.user_id',
      },
    });
    await engine.createTable('ds', 'ann', {
      view: { useLegacySql: false, query: "SELECT id FROM `p.ds.named` WHERE name = 'Ann'" },
    });
    const direct = await engine.query('SELECT id, name FROM `p.ds.named` ORDER BY id', {});
    expect(direct.rows.map((r) => r.f.map((c) => c.v))).toEqual([
      ['e1', 'Ann'],
      ['e2', null],
    ]);
    expect(direct.bytesBilled).toBe(20 * MB);
    const aliased = await engine.query(
      'SELECT v.id FROM `p.ds.ann` AS v JOIN `p.ds.events` x ON x.id = v.id',
      {},
    );
    expect(aliased.rows.map((r) => r.f[0]?.v)).toEqual(['e1']);
    // events (twice: through the view and directly, one table) + names.
    expect(aliased.bytesBilled).toBe(20 * MB);
    expect(engine.table('ds', 'ann')?.resource.type).toBe('VIEW');
  });

  it('a dropped view is gone; a legacy SQL view is refused', async () => {
    await engine.createTable('ds', 'tmp', { view: { useLegacySql: false, query: 'SELECT 1 AS x' } });
    expect((await engine.query('SELECT x FROM `p.ds.tmp`', {})).rows).toEqual([{ f: [{ v: '1' }] }]);
    expect(await engine.dropTable('ds', 'tmp')).toBe(true);
    await expect(engine.query('SELECT x FROM `p.ds.tmp`', {})).rejects.toThrow();
    await expect(engine.createTable('ds', 'old', { view: { query: 'SELECT 1' } })).rejects.toThrow(
      /GoogleSQL/,
    );
  });
});
