import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { localPrivacyDeps } from '../../test/helpers/privacy-scenario.ts';
import { openDuckdbWarehouse } from './duckdb-warehouse.ts';
import { deletePerson } from './engine.ts';
import { LEDGER_COLUMNS } from './ledger.ts';
import { eventBelongs, hashId, lineBelongs, memberships } from './person.ts';
import { excludedFromLedger } from './suppression-list.ts';

describe('the person rule', () => {
  it('hashes ids as the collector does (the same vector as publisher/src/suppression.test.ts)', () => {
    expect(hashId('u-target')).toBe('a83ede18c7df418bc992777309e2b399e99b3ea5ed6fd8631a20bf497d1d2f32');
  });

  it('user id, previous id, or anonymous id without another user', () => {
    const has = memberships({ userIds: ['u1'], anonymousIds: ['a1'] });
    expect(eventBelongs({ userId: 'u1', anonymousId: 'zz' }, has)).toBe(true);
    expect(eventBelongs({ anonymousId: 'a1' }, has)).toBe(true);
    expect(eventBelongs({ anonymousId: 'a1', userId: null }, has)).toBe(true);
    expect(eventBelongs({ anonymousId: 'a1', userId: 'u1' }, has)).toBe(true);
    expect(eventBelongs({ previousId: 'a1', userId: 'u7' }, has)).toBe(true);
    // A device shared with another account: that account's events are not this person's.
    expect(eventBelongs({ anonymousId: 'a1', userId: 'u7' }, has)).toBe(false);
    expect(eventBelongs({ userId: 'u7' }, has)).toBe(false);
  });

  it('the reliability ledger excludes the events of suppressed or erased ids, by the same rule', () => {
    const ids = new Set(['u1', 'a1']);
    expect(excludedFromLedger({ userId: 'u1' }, ids)).toBe(true);
    expect(excludedFromLedger({ anonymousId: 'a1' }, ids)).toBe(true);
    expect(excludedFromLedger({ anonymousId: 'a1', userId: 'u2' }, ids)).toBe(false);
    expect(excludedFromLedger({ userId: 'u2' }, ids)).toBe(false);
  });

  it('raw lines: parsed when JSON (escapes included), by JSON-string containment otherwise', () => {
    const person = { userIds: ['é"x'], anonymousIds: [] };
    expect(lineBelongs(JSON.stringify({ userId: 'é"x' }), person)).toBe(true);
    expect(lineBelongs('{"userId":"\\u00e9\\"x"}', person)).toBe(true);
    expect(lineBelongs('{"userId":"\\u00e9\\"x", cut', person)).toBe(true);
    expect(lineBelongs(JSON.stringify({ userId: 'other', properties: { note: 'é"x' } }), person)).toBe(false);
  });
});

/** Ids an attacker might send: quotes, backslashes, SQL, unicode, control characters. */
const nastyId = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12, unit: 'binary' }),
  fc.constantFrom("'; DROP TABLE tracks; --", '" OR 1=1 --', '\\', "'", '`', 'a\u0000b', '💥', '$1', '@u'),
);

describe('the person rule in SQL', () => {
  it("keeps another account's identified events on a shared device, erases the device's anonymous ones (DuckDB)", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sluice-privacy-shared-'));
    const wh = await openDuckdbWarehouse({ path: path.join(dir, 'w.duckdb'), lockTimeoutMs: 5000 });
    try {
      await wh.exec('CREATE TABLE pages (id VARCHAR, user_id VARCHAR, anonymous_id VARCHAR)');
      await wh.exec(
        "INSERT INTO pages VALUES ('1', 'u1', 'a1'), ('2', NULL, 'a1'), ('3', '', 'a1'), ('4', 'u7', 'a1'), ('5', 'u7', 'a7')",
      );
      const deps = localPrivacyDeps(wh, dir);
      const out = await deletePerson(deps, { userIds: ['u1'], anonymousIds: [] }, { suppress: false });
      expect(out.person).toEqual({ userIds: ['u1'], anonymousIds: ['a1'] });
      expect((await wh.select('SELECT id FROM pages ORDER BY id')).map((r) => r.id)).toEqual(['4', '5']);
    } finally {
      await wh.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('erasure statements take ids as parameters only', () => {
  it('any id (quotes, SQL, unicode) erases exactly its own rows and never changes the schema (DuckDB)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sluice-privacy-fc-'));
    const wh = await openDuckdbWarehouse({ path: path.join(dir, 'w.duckdb'), lockTimeoutMs: 5000 });
    try {
      await wh.exec('CREATE TABLE tracks (id VARCHAR, user_id VARCHAR, anonymous_id VARCHAR)');
      await wh.exec('CREATE TABLE tracks__items (_sluice_root_id VARCHAR, sku VARCHAR)');
      await wh.exec('CREATE TABLE users (id VARCHAR, email VARCHAR)');
      const deps = localPrivacyDeps(wh, dir);
      let n = 0;
      await wh.ensureTable('privacy_requests', LEDGER_COLUMNS);
      await fc.assert(
        fc.asyncProperty(nastyId, nastyId, async (victim, other) => {
          fc.pre(victim.replace(/\0/g, '') !== other.replace(/\0/g, '') && victim !== '' && other !== '');
          const ids = [victim, other].map(() => `e${n++}`);
          for (const [i, who] of [victim, other].entries()) {
            await wh.exec(`INSERT INTO tracks VALUES ($id, $u, $u)`, { values: { id: ids[i]!, u: who } });
            await wh.exec(`INSERT INTO tracks__items VALUES ($id, 'sku')`, { values: { id: ids[i]! } });
            await wh.exec(`INSERT INTO users VALUES ($u, 'x@example.com')`, { values: { u: who } });
          }
          const before = [...(await wh.tables()).keys()].sort();
          const count = async (sql: string, u: string): Promise<number> =>
            Number((await wh.select(sql, { values: { u } }))[0]?.n);
          const otherBefore = await count('SELECT count(*) AS n FROM tracks WHERE user_id = $u', other);
          await deletePerson(deps, { userIds: [victim], anonymousIds: [] }, { suppress: false });
          expect(await count('SELECT count(*) AS n FROM tracks WHERE user_id = $u', victim)).toBe(0);
          expect(await count('SELECT count(*) AS n FROM users WHERE id = $u', victim)).toBe(0);
          expect(await count('SELECT count(*) AS n FROM tracks WHERE user_id = $u', other)).toBe(otherBefore);
          expect(await count('SELECT count(*) AS n FROM users WHERE id = $u', other)).toBeGreaterThan(0);
          expect(
            Number(
              (
                await wh.select('SELECT count(*) AS n FROM tracks__items WHERE _sluice_root_id = $u', {
                  values: { u: ids[1]! },
                })
              )[0]?.n,
            ),
          ).toBe(1);
          expect([...(await wh.tables()).keys()].sort()).toEqual(before);
          // Clean the other person up for the next run (fresh state per run).
          await wh.exec('DELETE FROM tracks');
          await wh.exec('DELETE FROM tracks__items');
          await wh.exec('DELETE FROM users');
        }),
        { numRuns: 15 },
      );
    } finally {
      await wh.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
