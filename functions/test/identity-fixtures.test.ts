import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eraseIdentities } from '../src/identity/erase.ts';
import type { IdRef } from '../src/identity/tables.ts';
import { updateIdentity } from '../src/identity/update.ts';
import { DEFAULT_CONTRACTS } from '../src/schema/contracts.ts';
import {
  DEFAULT_IDENTITY_RULES,
  type IdentityRules,
  parseIdentityRules,
} from '../src/schema/identity-rules.ts';
import { fakeBigQueryDestination } from './fakes/fake-bigquery-destination.ts';
import { withStore } from './helpers/identity.ts';
import { type IdentityBigQuery, identityBigQuery } from './helpers/identity-bigquery.ts';
import { type TestWarehouse, testWarehouse } from './helpers/warehouse.ts';

/**
 * Identity scenarios as fixtures: `fixtures/identity/<case>.input.ndjson` is loaded (split into files of
 * `files` lines each, in order; default one file) with the case's `rules`, then `erase` (a privacy delete) if
 * given; `<case>.expected.json` lists the persons of the case's ids (by `prefix`), the flagged edges and what the
 * stitched views say of chosen events. The cases use disjoint ids, so they share one warehouse per destination:
 * DuckDB (the map kept per file) and the strict BigQuery fake (the scheduled update after each file; the views
 * are executed by the fake's view support, fake-bigquery-views.ts). The checks are one portable SQL text.
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

/** One destination under test: load a file, erase ids, run portable SQL (`{t:name}` is a table reference). */
interface Target {
  load(file: string, lines: string[], rules: IdentityRules): Promise<void>;
  erase(ids: IdRef[], rules: IdentityRules): Promise<void>;
  rows(sql: string): Promise<(string | null)[][]>;
}

function duckdbTarget(wh: TestWarehouse): Target {
  return {
    async load(file, lines, rules) {
      await wh.put(file, `${lines.join('\n')}\n`);
      const outcome = await wh.load(file, {
        settings: { contracts: { ...DEFAULT_CONTRACTS, identity: rules } },
      });
      expect(outcome.status).toBe('loaded');
    },
    async erase(ids, rules) {
      await withStore(wh.destination(), (s) => eraseIdentities(s, ids, rules));
    },
    async rows(sql) {
      const got = await wh.query(sql.replace(/\{t:(\w+)\}/g, '$1'));
      return got.map((r) => Object.values(r).map((v) => (v === null ? null : String(v))));
    },
  };
}

function bigQueryTarget(bq: IdentityBigQuery, datasetId: string): Target {
  const destination = () => fakeBigQueryDestination(bq.fake, { datasetId });
  return {
    async load(_file, lines, rules) {
      const outcome = await bq.load(datasetId, lines, {
        contracts: { ...DEFAULT_CONTRACTS, identity: rules },
      });
      expect(outcome.status).toBe('loaded');
      // The scheduled update after each file (incremental); the rules as the contracts file would set them.
      await withStore(destination(), (s) =>
        updateIdentity(s, rules, {
          holder: 'fixtures',
          now: Date.now,
          leaseMs: 60_000,
          overlapMs: 3_600_000,
        }),
      );
    },
    async erase(ids, rules) {
      await withStore(destination(), (s) => eraseIdentities(s, ids, rules));
    },
    rows: (sql) => bq.rows(sql.replace(/\{t:(\w+)\}/g, `\`fake-project.${datasetId}.$1\``)),
  };
}

describe.each(['duckdb', 'bigquery'] as const)('identity scenarios (fixtures) on %s', (kind) => {
  let wh: TestWarehouse | undefined;
  let bq: IdentityBigQuery | undefined;
  let target: Target;
  beforeAll(async () => {
    if (kind === 'duckdb') {
      wh = await testWarehouse();
      target = duckdbTarget(wh);
    } else {
      bq = await identityBigQuery();
      target = bigQueryTarget(bq, 'fixtures');
    }
  });
  afterAll(async () => {
    await wh?.cleanup();
    await bq?.close();
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
        await target.load(`identity/${name}-${i}.ndjson`, lines.slice(at, at + size), rules);
        at += size;
      }
      expect(at).toBe(lines.length);
      if (expected.erase) await target.erase(expected.erase, rules ?? DEFAULT_IDENTITY_RULES);
      const like = `'${expected.prefix}%'`;
      const rows = await target.rows(
        `SELECT STRING_AGG(CONCAT(id_type, ':', id_value), ',' ORDER BY id_type, id_value) AS ids FROM {t:identity_map}
         WHERE person_id IN (SELECT person_id FROM {t:identity_map} WHERE id_value LIKE ${like})
         GROUP BY person_id`,
      );
      expect(rows.map((r) => String(r[0]).split(',')).sort()).toEqual(expected.persons);
      // Every person of the case is one row of the persons view, each id once under its type.
      for (const [i, person] of expected.persons.entries()) {
        const view = expected.persons_view?.[i];
        const users =
          view?.user_ids ?? person.filter((id) => id.startsWith('user_id:')).map((id) => id.slice(8));
        const anons =
          view?.anonymous_ids ??
          person.filter((id) => id.startsWith('anonymous_id:')).map((id) => id.slice(13));
        const [type, value] = (person[0] as string).split(/:(.*)/s);
        const found = await target.rows(
          `SELECT ARRAY_TO_STRING(user_ids, ','), ARRAY_TO_STRING(anonymous_ids, ',') FROM {t:persons}
           WHERE person_id IN (SELECT person_id FROM {t:identity_map} WHERE id_type = '${type}' AND id_value = '${value}')`,
        );
        expect(found).toEqual([[users.sort().join(','), anons.sort().join(',')]]);
      }
      const flagged = await target.rows(
        `SELECT count(*) FROM {t:identity_merges} WHERE action = 'rejected_user_limit' AND event_id LIKE ${like}`,
      );
      expect(Number(flagged[0]?.[0])).toBe(expected.flagged);
      for (const s of expected.stitched) {
        const [type, value] = s.person_of === null ? [null, null] : s.person_of.split(/:(.*)/s);
        const got = await target.rows(
          `SELECT blended_user_id, person_id,
             (SELECT person_id FROM {t:identity_map} WHERE id_type = '${type}' AND id_value = '${value}') AS want
           FROM {t:${s.table}_stitched} WHERE id = '${s.id}'`,
        );
        expect(got, `${s.table} ${s.id}`).toHaveLength(1);
        expect(got[0]?.[0], `${s.table} ${s.id}`).toBe(s.blended_user_id);
        if (s.person_of === null) expect(got[0]?.[1], `${s.table} ${s.id}`).toBeNull();
        else expect(got[0]?.[1], `${s.table} ${s.id}`).toBe(got[0]?.[2]);
      }
    });
  }
});
