import { afterEach, describe, expect, it } from 'vitest';
import { eventLine, type TestWarehouse, testWarehouse } from '../../../test/helpers/warehouse.ts';

/**
 * Fields named like the commit's SQL aliases (`s` for the stage, `u`/`x` in the upsert MERGE, `h`, `c0`): DuckDB
 * binds a bare name that is also a table alias to that alias's whole row (a struct) in some positions, so a trait
 * `s` holding an array once made the accounts commit cast the stage's row to JSON (`Malformed JSON ... when casting
 * from source column id`) and quarantined the file. Found by the collector-loader fuzz test.
 */
describe('column names that are also the commit SQL aliases', () => {
  let wh: TestWarehouse | undefined;
  afterEach(async () => {
    await wh?.cleanup();
    wh = undefined;
  });

  it('load as columns in event tables, users and accounts, for single and repeated ids', async () => {
    wh = await testWarehouse();
    const names = { s: [1], u: { a: 1 }, x: [{ k: 1 }], h: 'h', c0: 'c' };
    const lines = [
      // The fuzz test's minimal case: a repeated group id without the trait, another group id with it.
      eventLine({ type: 'group', messageId: 'g1', userId: 'u', groupId: 'acct-1' }),
      eventLine({
        type: 'group',
        messageId: 'g2',
        anonymousId: 'a',
        groupId: 'acct-2',
        traits: { s: [100] },
      }),
      eventLine({ type: 'group', messageId: 'g3', anonymousId: 'a', groupId: 'acct-1' }),
      eventLine({ type: 'group', messageId: 'g4', userId: 'u', groupId: 'acct-3', traits: names }),
      eventLine({
        type: 'group',
        messageId: 'g5',
        userId: 'u',
        groupId: 'acct-3',
        traits: { ...names, h: 'h2' },
      }),
      eventLine({ type: 'identify', messageId: 'i1', userId: 'u1', traits: names }),
      eventLine({ type: 'identify', messageId: 'i2', userId: 'u1', traits: { ...names, s: [2] } }),
      eventLine({ type: 'identify', messageId: 'i3', userId: 'u2', traits: names }),
      eventLine({ type: 'track', event: 'Clash', messageId: 't1', userId: 'u1', properties: names }),
    ];
    await wh.put('f.ndjson', `${lines.join('\n')}\n`);
    const outcome = await wh.load('f.ndjson');
    expect(outcome.status).toBe('loaded');
    expect(await wh.query('SELECT id, CAST(s AS VARCHAR) AS s, h FROM accounts ORDER BY id')).toEqual([
      { id: 'acct-1', s: null, h: null },
      { id: 'acct-2', s: '[100]', h: null },
      { id: 'acct-3', s: '[1]', h: 'h2' },
    ]);
    expect(await wh.query('SELECT id, CAST(s AS VARCHAR) AS s, h, c0 FROM users ORDER BY id')).toEqual([
      { id: 'u1', s: '[2]', h: 'h', c0: 'c' },
      { id: 'u2', s: '[1]', h: 'h', c0: 'c' },
    ]);
    expect(await wh.query('SELECT CAST(s AS VARCHAR) AS s, h, c0 FROM clash')).toEqual([
      { s: '[1]', h: 'h', c0: 'c' },
    ]);
  });
});
