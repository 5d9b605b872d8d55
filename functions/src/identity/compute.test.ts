import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_IDENTITY_RULES, type IdentityRules } from '../schema/identity-rules.ts';
import { computeIdentity, type GraphEdge, personIdOf } from './compute.ts';
import { personsOfMap, referenceBlocked, referencePersons } from './reference.test-support.ts';
import { EDGE_KINDS } from './tables.ts';

const BLOCKED = ['0', '', 'null', '-1', 'Anonymous', '00000000-0000', 'guest', ' undefined', '--'];
/** Mostly real ids (few, so that persons collide), sometimes a blocked one. */
const valueArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'b', 'c', 'd') },
  { weight: 1, arbitrary: fc.constantFrom(...BLOCKED) },
);

const edgeArb = fc
  .record({
    aType: fc.constantFrom('anonymous_id', 'user_id'),
    aValue: valueArb,
    bType: fc.constantFrom('user_id', 'user_id', 'email'),
    bValue: valueArb,
    kind: fc.constantFrom(...EDGE_KINDS, 'identify', 'event'),
    eventId: fc.constantFrom('m1', 'm2', 'm3', 'm4', 'm5', 'm6'),
    ordinal: fc.nat(2),
    atMicros: fc.integer({ min: 0, max: 5 }).map((n) => 1_767_225_600_000_000 + n * 1_000_000),
  })
  .map((e) => ({ ...e, lastMicros: e.atMicros }));
const edgesArb = fc.uniqueArray(edgeArb, {
  maxLength: 14,
  // An event's links have distinct ordinals: the canonical key (timestamp, messageId, ordinal) is unique.
  selector: (e) => `${e.eventId}/${e.ordinal}`,
});
const rulesArb = fc.record({
  maxUserIdsPerPerson: fc.integer({ min: 1, max: 3 }),
  blockedValues: fc.constantFrom([], ['guest']),
  traitIdTypes: fc.constant(['email']),
  maxComponentIds: fc.constant(1000),
  maxComponentEdges: fc.constant(100_000),
});

describe('computeIdentity', () => {
  it('equals the reference model (persons as explicit sets, edges in canonical order) under the rules', () => {
    fc.assert(
      fc.property(edgesArb, rulesArb, (edges, rules: IdentityRules) => {
        const got = computeIdentity(edges, rules);
        const want = referencePersons(edges, rules);
        expect(personsOfMap(got.map)).toEqual(want.persons);
        expect(got.merges.filter((m) => m.action === 'rejected_user_limit')).toHaveLength(want.flagged);
        // No person holds more user ids than the limit unless an alias put them together.
        for (const person of want.persons) {
          const users = person.filter((id) => id.startsWith('user_id:')).length;
          if (!edges.some((e) => e.kind === 'alias'))
            expect(users).toBeLessThanOrEqual(rules.maxUserIdsPerPerson);
        }
        // No blocked value is ever in the map.
        for (const m of got.map) expect(referenceBlocked(m.idValue, rules)).toBe(false);
      }),
      { numRuns: 400 },
    );
  });

  it('does not depend on the edges arrival order or on how they are split (any order, same rows)', () => {
    fc.assert(
      fc.property(edgesArb, rulesArb, fc.nat(), (edges, rules: IdentityRules, seed) => {
        const shuffled = fc.sample(fc.shuffledSubarray(edges, { minLength: edges.length }), {
          seed,
          numRuns: 1,
        })[0] as GraphEdge[];
        const sortRows = <T>(rows: T[]): string[] => rows.map((r) => JSON.stringify(r)).sort();
        const a = computeIdentity(edges, rules);
        const b = computeIdentity(shuffled, rules);
        expect(sortRows(b.map)).toEqual(sortRows(a.map));
        expect(sortRows(b.merges)).toEqual(sortRows(a.merges));
      }),
      { numRuns: 200 },
    );
  });

  const e = (over: Partial<GraphEdge>): GraphEdge => ({
    aType: 'anonymous_id',
    aValue: 'a1',
    bType: 'user_id',
    bValue: 'u1',
    kind: 'identify',
    eventId: 'm1',
    ordinal: 0,
    atMicros: 1_000_000,
    ...over,
    lastMicros: over.lastMicros ?? over.atMicros ?? 1_000_000,
  });

  it("the person id is the earliest user id's; the earlier of two users on a shared device keeps the device", () => {
    // The messageIds sort the other way: the timestamp comes first in the canonical order.
    const edges = [
      e({ bValue: 'u2', eventId: 'm1', atMicros: 2_000_000 }),
      e({ bValue: 'u1', eventId: 'm2', atMicros: 1_000_000 }),
    ];
    const { map, merges } = computeIdentity(edges, DEFAULT_IDENTITY_RULES);
    const byId = Object.fromEntries(map.map((m) => [`${m.idType}:${m.idValue}`, m.personId]));
    expect(byId['anonymous_id:a1']).toBe(personIdOf('user_id', 'u1'));
    expect(byId['user_id:u2']).toBe(personIdOf('user_id', 'u2'));
    expect(merges).toMatchObject([{ action: 'rejected_user_limit', bValue: 'u2', eventId: 'm1' }]);
    // Same timestamp: the messageId decides (canonical order), not the arrival order.
    const tie = computeIdentity(
      [e({ bValue: 'u2', eventId: 'm0', atMicros: 5 }), e({ bValue: 'u1', eventId: 'm9', atMicros: 5 })],
      DEFAULT_IDENTITY_RULES,
    );
    expect(tie.map.find((m) => m.idValue === 'a1')?.personId).toBe(personIdOf('user_id', 'u2'));
  });

  it('records a merge whenever an existing person loses its person id (a new id joining is no merge)', () => {
    // a1 existed (an anonymous person, by its email) and becomes u1's: recorded. a2 is new with u1: not recorded.
    const anonymousFirst = computeIdentity(
      [
        e({ aValue: 'a1', bType: 'email', bValue: 'x@y', kind: 'trait', eventId: 'm1', atMicros: 1 }),
        e({ aValue: 'a1', bValue: 'u1', eventId: 'm2', atMicros: 2 }),
        e({ aValue: 'a2', bValue: 'u1', eventId: 'm3', atMicros: 3 }),
      ],
      DEFAULT_IDENTITY_RULES,
    );
    expect(anonymousFirst.merges).toMatchObject([
      {
        action: 'merge',
        personId: personIdOf('user_id', 'u1'),
        mergedPersonId: personIdOf('anonymous_id', 'a1'),
        eventId: 'm2',
      },
    ]);
  });

  it('records a merge when two existing persons join, with the surviving person id', () => {
    const edges = [
      e({ aValue: 'a1', bType: 'email', bValue: 'x@y', kind: 'trait', eventId: 'm1', atMicros: 1 }),
      e({ aValue: 'a2', bValue: 'u1', eventId: 'm2', atMicros: 2 }),
      e({ aValue: 'a1', bValue: 'u1', eventId: 'm3', atMicros: 3 }),
    ];
    const { merges, map } = computeIdentity(edges, DEFAULT_IDENTITY_RULES);
    expect(new Set(map.map((m) => m.personId))).toEqual(new Set([personIdOf('user_id', 'u1')]));
    expect(merges).toMatchObject([{ action: 'merge', personId: personIdOf('user_id', 'u1'), eventId: 'm3' }]);
  });
});
