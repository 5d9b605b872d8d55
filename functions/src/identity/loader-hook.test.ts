import { afterEach, describe, expect, it } from 'vitest';
import { eventLine, type TestWarehouse, testWarehouse } from '../../test/helpers/warehouse.ts';
import type { Destination } from '../destinations/destination.ts';
import { LoaderError } from '../errors.ts';
import { DEFAULT_CONTRACTS } from '../schema/contracts.ts';
import { DEFAULT_IDENTITY_RULES } from '../schema/identity-rules.ts';

/** The destination with its per-file upkeep failing with `error` (at its first store read). */
function failingUpkeep(inner: Destination, error: Error): Destination {
  return {
    ...inner,
    identity: {
      schedule: 'per_file',
      store() {
        const store = inner.identity?.store();
        if (!store) throw new Error('no store');
        return { ...store, logIds: () => Promise.reject(error) };
      },
    },
  };
}

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
    // 6 anonymous ids x 6 user ids, every pair in one event: 36 links among 12 ids, one raw component.
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
    await wh.put('dense.ndjson', `${lines.join('\n')}\n`);
    const contracts = {
      ...DEFAULT_CONTRACTS,
      identity: { ...DEFAULT_IDENTITY_RULES, maxComponentEdges: 20 },
    };
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
