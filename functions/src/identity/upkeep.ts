import type { CellValue } from '../model/warehouse.ts';
import type { IdentityRules } from '../schema/identity-rules.ts';
import { isBlocked } from '../schema/identity-rules.ts';
import { computeIdentity, type GraphEdge, linkable } from './compute.ts';
import { type IdentityEdge, type IdRef, nodeKey } from './tables.ts';

/**
 * What the identity upkeep needs from a warehouse (one implementation per destination, in this folder). Reads see
 * committed data; `replaceComponents` and `replaceAll` are each one atomic write.
 */
export interface IdentityStore {
  /** Creates the identity tables and views if missing (idempotent). */
  ensure(): Promise<void>;
  /** The links a load committed (none when `identity_edges` does not exist yet). */
  edgesOfLoad(loadId: string): Promise<GraphEdge[]>;
  /** The component ids `identity_map` holds for these ids (ids it does not hold are left out). */
  componentsOf(ids: readonly IdRef[]): Promise<string[]>;
  /** The person ids `identity_map` holds for these ids. */
  personsOf(ids: readonly IdRef[]): Promise<string[]>;
  /** Every id of these persons in `identity_map`. */
  idsOfPersons(personIds: readonly string[]): Promise<IdRef[]>;
  /** Every id of these components in `identity_map`. */
  membersOf(componentIds: readonly string[]): Promise<IdRef[]>;
  /** Every edge with either end among these ids. */
  edgesTouching(ids: readonly IdRef[]): Promise<GraphEdge[]>;
  /**
   * Atomically: delete the map rows of `componentIds` and of `ids`, the merge records of `componentIds`, then insert
   * `result` (the recomputed rows of the components these ids belong to).
   */
  replaceComponents(
    componentIds: readonly string[],
    ids: readonly IdRef[],
    result: ReturnType<typeof computeIdentity>,
  ): Promise<void>;
  allEdges(): Promise<GraphEdge[]>;
  /** Atomically replaces all of `identity_map` and `identity_merges`. */
  replaceAll(result: ReturnType<typeof computeIdentity>): Promise<void>;
  /** The event tables edges come from that exist, with their columns (for the rebuild). */
  sourceTables(): Promise<Map<string, Set<string>>>;
  /** Every row of an event table, `columns` only (those it has), as cells. */
  readRows(table: string, columns: readonly string[]): AsyncIterable<Record<string, CellValue>[]>;
  /** Atomically replaces all of `identity_edges`. */
  replaceEdges(edges: readonly IdentityEdge[]): Promise<void>;
  /**
   * Atomically deletes every edge with an end among `ids`, their map rows and the merge records that name them
   * (a privacy erasure: the only delete of identity rows).
   */
  eraseIds(ids: readonly IdRef[]): Promise<void>;
}

export interface UpkeepReport {
  edges: number;
  ids: number;
  components: number;
  rounds: number;
}

const endpoints = (e: GraphEdge): IdRef[] => [
  { type: e.aType, value: e.aValue },
  { type: e.bType, value: e.bValue },
];

/**
 * Recomputes the components that `seeds` belong to, from committed edges: the ids' components in the map, their
 * members, the edges touching them, and again for ids those edges reach (a fixpoint, so a stale map - a crash
 * before an earlier upkeep - is repaired too). Work grows with the size of the touched components, not of the
 * graph. Idempotent: running it twice, or after a crash at any point, leaves the same rows.
 */
export async function recomputeAround(
  store: IdentityStore,
  seeds: readonly IdRef[],
  rules: IdentityRules,
  alsoComponents: readonly string[] = [],
): Promise<UpkeepReport> {
  const known = new Map<string, IdRef>();
  const components = new Set<string>(alsoComponents);
  const edges = new Map<string, GraphEdge>();
  let frontier = seeds.filter((r) => !isBlocked(r.value, rules));
  let rounds = 0;
  while (frontier.length > 0) {
    rounds++;
    const fresh: IdRef[] = [];
    for (const r of frontier) {
      const k = nodeKey(r.type, r.value);
      if (!known.has(k)) {
        known.set(k, r);
        fresh.push(r);
      }
    }
    if (fresh.length === 0) break;
    const newComponents = (await store.componentsOf(fresh)).filter((c) => !components.has(c));
    for (const c of newComponents) components.add(c);
    const reach = [...fresh];
    if (newComponents.length > 0) {
      for (const m of await store.membersOf(newComponents)) {
        const k = nodeKey(m.type, m.value);
        if (!known.has(k)) {
          known.set(k, m);
          reach.push(m);
        }
      }
    }
    const next: IdRef[] = [];
    for (const e of await store.edgesTouching(reach)) {
      if (!linkable(e, rules)) continue;
      edges.set(
        `${e.eventId}\u0000${e.ordinal}\u0000${nodeKey(e.aType, e.aValue)}\u0000${nodeKey(e.bType, e.bValue)}`,
        e,
      );
      for (const r of endpoints(e)) if (!known.has(nodeKey(r.type, r.value))) next.push(r);
    }
    frontier = next;
  }
  const result = computeIdentity([...edges.values()], rules);
  await store.replaceComponents([...components], [...known.values()], result);
  return { edges: edges.size, ids: known.size, components: components.size, rounds };
}

/** The per-file upkeep: the components the load's edges touch, recomputed. */
export async function upkeepAfterLoad(
  store: IdentityStore,
  loadId: string,
  rules: IdentityRules,
): Promise<UpkeepReport> {
  // A warehouse that never saw a link has no identity tables (they, and the views, come with the first link).
  const edges = await store.edgesOfLoad(loadId);
  if (edges.length === 0) return { edges: 0, ids: 0, components: 0, rounds: 0 };
  await store.ensure();
  return recomputeAround(store, edges.flatMap(endpoints), rules);
}

/** Recomputes the whole map from `identity_edges` (the scheduled update, and the second half of a rebuild). */
export async function recomputeAll(store: IdentityStore, rules: IdentityRules): Promise<UpkeepReport> {
  await store.ensure();
  const edges = await store.allEdges();
  const result = computeIdentity(edges, rules);
  await store.replaceAll(result);
  return {
    edges: edges.length,
    ids: result.map.length,
    components: new Set(result.map.map((m) => m.componentId)).size,
    rounds: 1,
  };
}

/**
 * A destination's identity graph support (`Destination.identity`). The loader stages every file's edges into
 * `identity_edges` in the file's own commit whenever a destination has it; `per_file`: the loader then recomputes
 * the components those edges touch (DuckDB); `scheduled`: `npm run identity -- update` recomputes the map on a
 * schedule (BigQuery, where per-file statements would bill 10 MB per table referenced each).
 */
export interface IdentityHook {
  readonly schedule: 'per_file' | 'scheduled';
  /** The store over the destination's open connection (valid between `open()` and `close()`). */
  store(): IdentityStore;
}
