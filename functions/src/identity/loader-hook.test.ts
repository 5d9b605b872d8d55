import { afterEach, describe, expect, it } from 'vitest';
import { eventLine, type TestWarehouse, testWarehouse } from '../../test/helpers/warehouse.ts';
import type { Destination } from '../destinations/destination.ts';
import { LoaderError } from '../errors.ts';

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
    const inner = wh.destination();
    const failing: Destination = {
      ...inner,
      identity: {
        schedule: 'per_file',
        store() {
          const store = inner.identity?.store();
          if (!store) throw new Error('no store');
          return { ...store, logIds: () => Promise.reject(new Error('disk full')) };
        },
      },
    };
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
