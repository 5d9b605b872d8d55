import type { Destination } from '../destinations/destination.ts';
import type { IdentityRules } from '../schema/identity-rules.ts';
import { type IdRef, nodeKey } from './tables.ts';
import { type IdentityStore, recomputeAround } from './upkeep.ts';

export interface ErasureResult {
  /** Every id removed from the graph (the persons of the requested ids, when `wholePerson`). */
  erased: IdRef[];
  /** Ids left in the affected components, whose persons were recomputed. */
  recomputed: number;
}

/**
 * A privacy erasure (issue 19's registry calls it): removes the ids - by default every id of their persons, so the
 * person leaves the graph - from `identity_edge_log`, `identity_edges`, `identity_map` and `identity_merges` (the one delete those
 * tables know), then recomputes the components they belonged to, so the ids that remain are mapped as a rebuild
 * without the erased ids' edges would map them. The events of the erased ids are the privacy delete's to remove
 * (a rebuild from event tables that still hold them would link them again); `erased` lists the ids for it.
 */
export async function eraseIdentities(
  store: IdentityStore,
  ids: readonly IdRef[],
  rules: IdentityRules,
  options: { wholePerson?: boolean } = {},
): Promise<ErasureResult> {
  await store.ensure(rules);
  const wholePerson = options.wholePerson ?? true;
  const erased = new Map<string, IdRef>(ids.map((r) => [nodeKey(r.type, r.value), r]));
  const components = await store.distinctOf('component_id', ids);
  const members = await store.membersOf(components);
  if (wholePerson) {
    const persons = await store.distinctOf('person_id', ids);
    for (const m of await store.idsOfPersons(persons)) erased.set(nodeKey(m.type, m.value), m);
  }
  const gone = [...erased.values()];
  // Neighbours reached only through an edge (not yet in the map: an upkeep still pending) are recomputed too.
  const neighbours = (await store.edgesTouching(gone)).flatMap((e) => [
    { type: e.aType, value: e.aValue },
    { type: e.bType, value: e.bValue },
  ]);
  await store.eraseIds(gone);
  const remaining = [...members, ...neighbours].filter((m) => !erased.has(nodeKey(m.type, m.value)));
  // The erased ids' old component rows go with the recompute (replaceComponents deletes by component id).
  const report = await recomputeAround(store, remaining, rules, components);
  return { erased: gone, recomputed: report.ids };
}

/**
 * `eraseIdentities` on a destination's identity tables (the privacy registry's entry point, issue 19): the
 * destination must be open (between `open()` and `close()`). Undefined when the destination keeps no graph.
 */
export async function eraseIdentitiesFrom(
  destination: Destination,
  ids: readonly IdRef[],
  rules: IdentityRules,
): Promise<ErasureResult | undefined> {
  const hook = destination.identity;
  if (hook === undefined) return undefined;
  return eraseIdentities(hook.store(), ids, rules);
}
