import { describe, expect, it } from 'vitest';
import { parseContracts } from '../schema/contracts.ts';
import { DEFAULT_IDENTITY_RULES, isBlocked, parseIdentityRules } from './identity-rules.ts';

describe('identity rules', () => {
  it('blocks placeholders and junk ids, trimmed and case-insensitively, plus configured values', () => {
    const rules = { ...DEFAULT_IDENTITY_RULES, blockedValues: ['Guest'] };
    for (const v of [
      '',
      ' ',
      '0',
      '000',
      '-',
      '00000000-0000-0000-0000-000000000000',
      '-1',
      'null',
      'NULL',
      ' undefined ',
      'Anonymous',
      'guest',
    ])
      expect(isBlocked(v, rules), JSON.stringify(v)).toBe(true);
    for (const v of ['u1', '10', '0x', 'a-0', 'nullable', '-2', '1-0'])
      expect(isBlocked(v, rules), JSON.stringify(v)).toBe(false);
  });

  it('parses the contracts file section and lists every problem', () => {
    const problems: string[] = [];
    expect(
      parseIdentityRules(
        {
          maxUserIdsPerPerson: 2,
          blockedValues: ['x'],
          traitIdTypes: ['email'],
          maxComponentIds: 50,
          maxComponentEdges: 70,
        },
        problems,
      ),
    ).toEqual({
      maxUserIdsPerPerson: 2,
      blockedValues: ['x'],
      traitIdTypes: ['email'],
      maxComponentIds: 50,
      maxComponentEdges: 70,
    });
    expect(problems).toEqual([]);
    parseIdentityRules(
      {
        maxUserIdsPerPerson: 0,
        blockedValues: 'x',
        traitIdTypes: ['user_id', 'E-mail'],
        other: 1,
        maxComponentIds: 1,
        maxComponentEdges: 0.5,
      },
      problems,
    );
    expect(problems).toEqual([
      'identity.other: unknown key',
      'identity.maxUserIdsPerPerson: must be an integer >= 1',
      'identity.maxComponentIds: must be an integer >= 2',
      'identity.maxComponentEdges: must be an integer >= 1',
      'identity.blockedValues: must be an array of strings',
      'identity.traitIdTypes: "user_id", "E-mail" must be identifies column names (snake_case), not user_id/anonymous_id',
    ]);
    const parsed = parseContracts({ identity: { traitIdTypes: ['email'] } });
    expect(parsed).toMatchObject({
      ok: true,
      contracts: { identity: { maxUserIdsPerPerson: 1, traitIdTypes: ['email'] } },
    });
    expect(parseContracts({ identity: [] })).toEqual({
      ok: false,
      problems: ['identity: must be an object'],
    });
  });
});
