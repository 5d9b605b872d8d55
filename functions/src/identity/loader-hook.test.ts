import { afterEach, describe, expect, it } from 'vitest';
import { withStore } from '../../test/helpers/identity.ts';
import { eventLine, type TestWarehouse, testWarehouse } from '../../test/helpers/warehouse.ts';
import type { Destination } from '../destinations/destination.ts';
import { LoaderError } from '../errors.ts';
import { DEFAULT_CONTRACTS } from '../schema/contracts.ts';
import { DEFAULT_IDENTITY_RULES } from '../schema/identity-rules.ts';
import { rebuildIdentity } from './rebuild.ts';
import type { IdentityStore } from './upkeep.ts';

/** The destination with its identity store's methods replaced by `overrides` (given the real store). */
function withStoreOverrides(
  inner: Destination,
  overrides: (store: IdentityStore) => Partial<IdentityStore>,
): Destination {
  return {
    ...inner,
    identity: {
      schedule: 'per_file',
      store() {
        const store = inner.identity?.store();
        if (!store) throw new Error('no store');
        return { ...store, ...overrides(store) };
      },
    },
  };
}

/** The destination with its per-file upkeep failing with `error` (at its first store read of the load's ids). */
const failingUpkeep = (inner: Destination, error: Error): Destination =>
  withStoreOverrides(inner, () => ({
    seedPages: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }) }),
  }));

/**
 * The destination with its store's link reads returning each link twice, cut at the limit: what BigQuery's reads,
 * bounded per chunk of ids, can return for a link whose two ends are in different chunks.
 */
const duplicatingReads = (inner: Destination): Destination =>
  withStoreOverrides(inner, (store) => ({
    async edgesTouching(ids, limit) {
      const twice = (await store.edgesTouching(ids)).flatMap((e) => [e, { ...e }]);
      return limit === undefined ? twice : twice.slice(0, limit);
    },
  }));

/** 6 anonymous ids x 6 user ids, every pair in one event: 36 links among 12 ids, one raw component. */
function denseLines(): string {
  const lines: string[] = [];
  for (let a = 0; a < 6; a++)
    for (let u = 0; u < 6; u++)
      lines.push(
        eventLine({
          type: 'track',
          event: 'E',
          messageId: `m${a}-${u}`,
          anonymousId: `a${a}`,
          userId: `u${u}`,
        }),
      );
  return `${lines.join('\n')}\n`;
}

const withEdgeBudget = (maxComponentEdges: number) => ({
  ...DEFAULT_CONTRACTS,
  identity: { ...DEFAULT_IDENTITY_RULES, maxComponentEdges },
});

describe('the loader hook of the identity upkeep', () => {
  let wh: TestWarehouse | undefined;
  afterEach(async () => {
    await wh?.cleanup();
    wh = undefined;
  });

  it('an upkeep failure after the commit is a retryable error; the redelivery finds the file loaded and updates the map', async () => {
    wh = await testWarehouse();
    await wh.put(
      'f.ndjson',
      `${eventLine({ type: 'identify', messageId: 'i1', anonymousId: 'a1', userId: 'u1' })}\n`,
    );
    const failing = failingUpkeep(wh.destination(), new Error('disk full'));
    const error = await wh.load('f.ndjson', { destination: failing }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoaderError);
    expect(error).toMatchObject({ code: 'SLUICE_ERR_LOAD_IDENTITY_UPKEEP', retryable: true });
    expect(await wh.query('SELECT count(*) AS n FROM identity_edge_log')).toEqual([{ n: '1' }]);
    // The update never ran: no map yet (the identity tables other than the edges come with the first update).
    expect(
      await wh.query("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'identity_map'"),
    ).toEqual([{ n: '0' }]);
    expect(await wh.query('SELECT count(*) AS n FROM _sluice_load_attempts')).toEqual([{ n: '0' }]);
    const again = await wh.load('f.ndjson');
    expect(again.status).toBe('already_loaded');
    expect(await wh.query('SELECT count(DISTINCT person_id) AS p, count(*) AS n FROM identity_map')).toEqual([
      { p: '1', n: '2' },
    ]);
  });

  it('a component over the link budget (every pair of a few ids linked) completes the load instead of failing it forever: the map is left as it was, nothing partial', async () => {
    wh = await testWarehouse();
    await wh.put('dense.ndjson', denseLines());
    const contracts = withEdgeBudget(20);
    const outcome = await wh.load('dense.ndjson', { settings: { contracts } });
    expect(outcome.status).toBe('loaded');
    expect(await wh.query('SELECT count(*) AS n FROM tracks')).toEqual([{ n: '36' }]);
    expect(await wh.query('SELECT count(*) AS n FROM identity_edges')).toEqual([{ n: '36' }]);
    expect(await wh.query('SELECT count(*) AS n FROM identity_map')).toEqual([{ n: '0' }]);
    // A redelivery answers at once (it runs the upkeep again, which is refused again, and completes).
    expect((await wh.load('dense.ndjson', { settings: { contracts } })).status).toBe('already_loaded');
    // Within the budget, the same graph maps every id.
    expect((await wh.load('dense.ndjson')).status).toBe('already_loaded');
    expect(await wh.query('SELECT count(*) AS n FROM identity_map')).toEqual([{ n: '12' }]);
  });

  it('a read of links that reached its limit is never taken for the whole component (reads that repeat a link)', async () => {
    wh = await testWarehouse();
    await wh.put('dense.ndjson', denseLines());
    // 36 links, a budget of 40: each link read twice, cut at 41 rows, is 21 links of the 36. Computing the map
    // from them would write a wrong map; the read reached its limit, so the upkeep is refused instead.
    const outcome = await wh.load('dense.ndjson', {
      settings: { contracts: withEdgeBudget(40) },
      destination: duplicatingReads(wh.destination()),
    });
    expect(outcome.status).toBe('loaded');
    expect(await wh.query('SELECT count(*) AS n FROM identity_map')).toEqual([{ n: '0' }]);
    expect((await wh.load('dense.ndjson', { settings: { contracts: withEdgeBudget(40) } })).status).toBe(
      'already_loaded',
    );
    expect(await wh.query('SELECT count(*) AS n FROM identity_map')).toEqual([{ n: '12' }]);
  });

  it("DuckDB's link read returns each link once, and exactly the limit when there are more", async () => {
    wh = await testWarehouse();
    await wh.put('dense.ndjson', denseLines());
    await wh.load('dense.ndjson', { settings: { contracts: withEdgeBudget(20) } });
    const destination = wh.destination();
    await destination.open();
    try {
      const store = destination.identity?.store();
      if (!store) throw new Error('no store');
      const ids = ['a', 'u'].flatMap((p) =>
        [0, 1, 2, 3, 4, 5].map((i) => ({ type: p === 'a' ? 'anonymous_id' : 'user_id', value: `${p}${i}` })),
      );
      const all = await store.edgesTouching(ids);
      expect(all).toHaveLength(36);
      expect(new Set(all.map((e) => `${e.aValue}-${e.bValue}`)).size).toBe(36);
      expect(await store.edgesTouching(ids, 30)).toHaveLength(30);
      expect(await store.edgesTouching(ids.slice(0, 1))).toHaveLength(6);
    } finally {
      await destination.close();
    }
  });

  it('a file linking more ids than maxComponentIds, in small components, is recomputed a batch of seeds at a time: the map equals a rebuild', async () => {
    wh = await testWarehouse();
    // 10 persons of two ids each (20 ids) under a limit of 4 ids per recompute: one recompute of all 20 would be
    // refused; a batch of one seed at a time touches two ids.
    const lines = Array.from({ length: 10 }, (_v, i) =>
      eventLine({ type: 'identify', messageId: `i${i}`, anonymousId: `a${i}`, userId: `u${i}` }),
    );
    lines.push(eventLine({ type: 'identify', messageId: 'i10', anonymousId: 'a0', userId: 'u0' }));
    await wh.put('many.ndjson', `${lines.join('\n')}\n`);
    const contracts = {
      ...DEFAULT_CONTRACTS,
      identity: { ...DEFAULT_IDENTITY_RULES, maxComponentIds: 4 },
    };
    expect((await wh.load('many.ndjson', { settings: { contracts } })).status).toBe('loaded');
    const map = 'SELECT id_type, id_value, person_id, component_id FROM identity_map ORDER BY ALL';
    const incremental = await wh.query(map);
    expect(incremental).toHaveLength(20);
    expect(await wh.query('SELECT count(DISTINCT person_id) AS n FROM identity_map')).toEqual([{ n: '10' }]);
    await withStore(wh.destination(), (store) => rebuildIdentity(store, contracts.identity));
    expect(await wh.query(map)).toEqual(incremental);
  });

  it('an upkeep that fails the same way on every delivery (a RangeError: the call stack, an allocation) completes the load', async () => {
    wh = await testWarehouse();
    await wh.put(
      'f.ndjson',
      `${eventLine({ type: 'identify', messageId: 'i1', anonymousId: 'a1', userId: 'u1' })}\n`,
    );
    const overflowing = failingUpkeep(wh.destination(), new RangeError('Maximum call stack size exceeded'));
    expect((await wh.load('f.ndjson', { destination: overflowing })).status).toBe('loaded');
    expect(await wh.query('SELECT count(*) AS n FROM identifies')).toEqual([{ n: '1' }]);
  });

  it('a destination without identity support keeps no graph (no edges staged)', async () => {
    wh = await testWarehouse();
    await wh.put(
      'f.ndjson',
      `${eventLine({ type: 'identify', messageId: 'i1', anonymousId: 'a1', userId: 'u1' })}\n`,
    );
    const outcome = await wh.load('f.ndjson', { destination: { ...wh.destination(), identity: undefined } });
    expect(outcome.status).toBe('loaded');
    expect(
      await wh.query("SELECT count(*) AS n FROM information_schema.tables WHERE table_name LIKE 'identity%'"),
    ).toEqual([{ n: '0' }]);
  });
});
