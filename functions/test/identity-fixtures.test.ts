import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eraseIdentities } from '../src/identity/erase.ts';
import type { IdRef } from '../src/identity/tables.ts';
import { DEFAULT_CONTRACTS } from '../src/schema/contracts.ts';
import {
  DEFAULT_IDENTITY_RULES,
  type IdentityRules,
  parseIdentityRules,
} from '../src/schema/identity-rules.ts';
import { type TestWarehouse, testWarehouse } from './helpers/warehouse.ts';

/**
 * Identity scenarios as fixtures: `fixtures/identity/<case>.input.ndjson` is loaded (split into files of
 * `files` lines each, in order; default one file) with the case's `rules`, then `erase` (a privacy delete) if
 * given; `<case>.expected.json` lists the persons of the case's ids (by `prefix`), the flagged edges and what the
 * stitched views say of chosen events. The cases use disjoint ids, so they share one warehouse.
 */
const dir = path.join(import.meta.dirname, 'fixtures', 'identity');
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.input.ndjson'))
  .map((f) => f.slice(0, -'.input.ndjson'.length))
  .sort();

interface Expected {
  description: string;
  prefix: string;
  files?: number[];
  rules?: unknown;
  erase?: IdRef[];
  persons: string[][];
  /** What `persons` lists per person (each id once), when it differs from `persons` split by type. */
  persons_view?: { user_ids: string[]; anonymous_ids: string[] }[];
  flagged: number;
  stitched: { table: string; id: string; blended_user_id: string | null; person_of: string | null }[];
}

function rulesOf(doc: unknown): IdentityRules {
  const problems: string[] = [];
  const rules = parseIdentityRules(doc, problems);
  if (problems.length > 0) throw new Error(problems.join('; '));
  return rules;
}

describe('identity scenarios (fixtures)', () => {
  let wh: TestWarehouse;
  beforeAll(async () => {
    wh = await testWarehouse();
  });
  afterAll(async () => {
    await wh.cleanup();
  });

  it('has the scenarios the issue lists', () => {
    expect(cases).toEqual(
      expect.arrayContaining([
        'anonymous-then-signup',
        'cross-device',
        'alias-chain',
        'shared-device',
        'blocked-values',
        'privacy-erasure',
      ]),
    );
  });

  for (const name of cases) {
    it(name, async () => {
      const expected = JSON.parse(readFileSync(path.join(dir, `${name}.expected.json`), 'utf8')) as Expected;
      const lines = readFileSync(path.join(dir, `${name}.input.ndjson`), 'utf8')
        .trim()
        .split('\n');
      const rules = rulesOf(expected.rules ?? {});
      const sizes = expected.files ?? [lines.length];
      let at = 0;
      for (const [i, size] of sizes.entries()) {
        const file = `identity/${name}-${i}.ndjson`;
        await wh.put(file, `${lines.slice(at, at + size).join('\n')}\n`);
        at += size;
        const outcome = await wh.load(file, {
          settings: { contracts: { ...DEFAULT_CONTRACTS, identity: rules } },
        });
        expect(outcome.status).toBe('loaded');
      }
      expect(at).toBe(lines.length);
      if (expected.erase) {
        const d = wh.destination();
        await d.open();
        try {
          const store = d.identity?.store();
          if (!store) throw new Error('no identity store');
          await eraseIdentities(store, expected.erase, rules ?? DEFAULT_IDENTITY_RULES);
        } finally {
          await d.close();
        }
      }
      const like = `'${expected.prefix}%'`;
      const rows = await wh.query(
        `SELECT person_id, list(id_type || ':' || id_value ORDER BY id_type, id_value) AS ids FROM identity_map
         WHERE person_id IN (SELECT person_id FROM identity_map WHERE id_value LIKE ${like})
         GROUP BY person_id ORDER BY ids`,
      );
      expect(rows.map((r) => r.ids)).toEqual(expected.persons);
      // Every id of a case's person is in the persons view, as one row.
      for (const [i, person] of expected.persons.entries()) {
        const view = expected.persons_view?.[i];
        const users =
          view?.user_ids ?? person.filter((id) => id.startsWith('user_id:')).map((id) => id.slice(8));
        const anons =
          view?.anonymous_ids ??
          person.filter((id) => id.startsWith('anonymous_id:')).map((id) => id.slice(13));
        const found = await wh.query(
          `SELECT user_ids, anonymous_ids FROM persons WHERE list_contains(user_ids, '${users[0] ?? ''}') OR list_contains(anonymous_ids, '${anons[0] ?? ''}')`,
        );
        expect(found).toEqual([{ user_ids: users.sort(), anonymous_ids: anons.sort() }]);
      }
      const flagged = await wh.query(
        `SELECT count(*) AS n FROM identity_merges WHERE action = 'rejected_user_limit' AND event_id LIKE ${like}`,
      );
      expect(Number(flagged[0]?.n)).toBe(expected.flagged);
      for (const s of expected.stitched) {
        const [type, value] = s.person_of === null ? [null, null] : s.person_of.split(/:(.*)/s);
        const got = await wh.query(
          `SELECT blended_user_id, person_id,
             (SELECT person_id FROM identity_map WHERE id_type = '${type}' AND id_value = '${value}') AS want
           FROM ${s.table}_stitched WHERE id = '${s.id}'`,
        );
        expect(got, `${s.table} ${s.id}`).toHaveLength(1);
        expect(got[0]?.blended_user_id, `${s.table} ${s.id}`).toBe(s.blended_user_id);
        if (s.person_of === null) expect(got[0]?.person_id, `${s.table} ${s.id}`).toBeNull();
        else expect(got[0]?.person_id, `${s.table} ${s.id}`).toBe(got[0]?.want);
      }
    });
  }
});
