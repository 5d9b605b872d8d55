import type { IdentityRules } from '../schema/identity-rules.ts';
import type { GraphEdge } from './compute.ts';

/** The blocked values the tests generate, written out (not the rule's code): placeholders and junk ids. */
const BLOCKED_IN_TESTS = new Set([
  '',
  '0',
  '000',
  '-',
  '--',
  '00000000-0000',
  'null',
  '-1',
  'undefined',
  'anonymous',
]);

/** Blocked, by the tests' own list plus the configured values. */
export function referenceBlocked(value: string, rules: IdentityRules): boolean {
  const v = value.trim().toLowerCase();
  return BLOCKED_IN_TESTS.has(v) || rules.blockedValues.some((b) => b.toLowerCase() === v);
}

/**
 * An independent model of the rules for the tests (no union-find, no anchors): persons as explicit sets, edges
 * applied one by one in canonical order. Returns the partition of ids into persons (sorted lists of `type:value`)
 * and the number of flagged edges.
 */
export function referencePersons(
  edges: readonly GraphEdge[],
  rules: IdentityRules,
): { persons: string[][]; flagged: number } {
  const order = [...edges].sort(
    (x, y) =>
      x.atMicros - y.atMicros ||
      (x.eventId < y.eventId ? -1 : x.eventId > y.eventId ? 1 : 0) ||
      x.ordinal - y.ordinal,
  );
  const persons: Set<string>[] = [];
  let flagged = 0;
  const personOf = (id: string): Set<string> => {
    const found = persons.find((p) => p.has(id));
    if (found) return found;
    const fresh = new Set([id]);
    persons.push(fresh);
    return fresh;
  };
  const userCount = (p: Set<string>): number => [...p].filter((id) => id.startsWith('user_id:')).length;
  for (const e of order) {
    if (referenceBlocked(e.aValue, rules) || referenceBlocked(e.bValue, rules)) continue;
    const a = `${e.aType}:${e.aValue}`;
    const b = `${e.bType}:${e.bValue}`;
    if (a === b) continue;
    const pa = personOf(a);
    const pb = personOf(b);
    if (pa === pb) continue;
    const ua = userCount(pa);
    const ub = userCount(pb);
    if (e.kind !== 'alias' && ua > 0 && ub > 0 && ua + ub > rules.maxUserIdsPerPerson) {
      flagged++;
      continue;
    }
    for (const id of pb) pa.add(id);
    persons.splice(persons.indexOf(pb), 1);
  }
  return { persons: persons.map((p) => [...p].sort()).sort(), flagged };
}

/** The persons of `identity_map` rows, in the reference's form. */
export function personsOfMap(
  rows: readonly { idType: string; idValue: string; personId: string }[],
): string[][] {
  const by = new Map<string, string[]>();
  for (const r of rows) {
    const list = by.get(r.personId) ?? [];
    list.push(`${r.idType}:${r.idValue}`);
    by.set(r.personId, list);
  }
  return [...by.values()].map((l) => l.sort()).sort();
}
