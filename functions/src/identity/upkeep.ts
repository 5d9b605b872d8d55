import { LoaderError } from '../errors.ts';
import type { CellValue } from '../model/warehouse.ts';
import type { IdentityRules } from '../schema/identity-rules.ts';
import { isBlocked } from '../schema/identity-rules.ts';
import { computeIdentity, type GraphEdge, linkable } from './compute.ts';
import { type CompactEdge, type IdentityEdge, type IdRef, nodeKey } from './tables.ts';

/** A part of `identity_edge_log`: one load's rows, or the rows loaded in `[from, through]` (`from` null: all). */
export type LogSlice = { loadId: string } | { from: string | null; through?: string };

/**
 * A small compare-and-set document the scheduled update keeps its watermark and lease in (BigQuery: an object in the
 * staging bucket, written with `ifGenerationMatch`; DuckDB: a row with a version column).
 */
export interface StateCell {
  read(): Promise<{ text: string; version: string } | undefined>;
  /** Writes `text` if the current version is `ifVersion` (`'0'`: no document yet): the new version, else undefined. */
  write(text: string, ifVersion: string): Promise<string | undefined>;
}

/**
 * What the identity upkeep needs from a warehouse (one implementation per destination, in this folder). Reads see
 * committed data; `compact`, `replaceComponents`, `replaceAll` and `replaceEdges` are each one atomic write.
 */
export interface IdentityStore {
  /** Creates the identity tables if missing and the views if missing or defined otherwise (idempotent). */
  ensure(rules: IdentityRules): Promise<void>;
  /** True once `identity_edge_log` exists (the first link the loader committed creates it). */
  hasLog(): Promise<boolean>;
  /** The ids the slice's log rows link, and the latest `loaded_at` among them (undefined: no row). */
  logIds(slice: LogSlice): Promise<{ ids: IdRef[]; through: string | undefined }>;
  /** The ids the slice's log rows link, `size` at a time (the per-file upkeep's seeds). */
  seedPages(slice: LogSlice, size: number): AsyncIterable<IdRef[]>;
  /** Merges the slice's log rows into `identity_edges` by the compaction rule (`compactLog`; idempotent). */
  compact(slice: LogSlice): Promise<void>;
  /** The distinct values of `column` in `identity_map` for these ids (ids it does not hold are left out). */
  distinctOf(column: 'component_id' | 'person_id', ids: readonly IdRef[]): Promise<string[]>;
  /** Every id of these persons in `identity_map`. */
  idsOfPersons(personIds: readonly string[]): Promise<IdRef[]>;
  /** Every id of these components in `identity_map`. */
  membersOf(componentIds: readonly string[]): Promise<IdRef[]>;
  /**
   * Every compacted edge with either end among these ids; with `limit`, at most that many (per chunk of ids on
   * BigQuery: the caller counts what it got), so a caller that bounds its memory never reads a giant result whole.
   */
  edgesTouching(ids: readonly IdRef[], limit?: number): Promise<GraphEdge[]>;
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
  /** Replaces all of `identity_edge_log` and `identity_edges` (the rebuild). */
  replaceEdges(log: readonly IdentityEdge[], edges: readonly CompactEdge[]): Promise<void>;
  /**
   * Atomically deletes every log row and edge with an end among `ids`, their map rows and the merge records that
   * name them (a privacy erasure: the only delete of identity rows).
   */
  eraseIds(ids: readonly IdRef[]): Promise<void>;
  /** The scheduled update's watermark and lease. */
  updateState(): StateCell;
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
  maxIds = rules.maxComponentIds,
  maxEdges = rules.maxComponentEdges,
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
    // A giant component (a bot id shared by millions) would be read whole into memory: refuse it loudly, before
    // anything is written (never a partial map); `rebuild` or a higher `maxComponentIds` is the operator's call.
    if (known.size > maxIds) {
      throw new LoaderError(
        'SLUICE_ERR_IDENTITY_COMPONENT_TOO_LARGE',
        `the ids to recompute reached ${known.size}, over maxComponentIds ${maxIds}: nothing was written`,
      );
    }
    const newComponents = (await store.distinctOf('component_id', fresh)).filter((c) => !components.has(c));
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
    // At most one more than the budget: a read that reaches it may have stopped short (BigQuery bounds each chunk of
    // ids, and a link can come back once per chunk its ends are in), and a map computed from a part of a component
    // would be wrong, so it fails loudly instead.
    const read = await store.edgesTouching(reach, maxEdges + 1);
    if (read.length > maxEdges) {
      throw new LoaderError(
        'SLUICE_ERR_IDENTITY_COMPONENT_TOO_LARGE',
        `the links to recompute reached ${read.length}, over maxComponentEdges ${maxEdges}: nothing was written`,
      );
    }
    for (const e of read) {
      if (!linkable(e, rules)) continue;
      edges.set(
        `${e.eventId}\u0000${e.ordinal}\u0000${nodeKey(e.aType, e.aValue)}\u0000${nodeKey(e.bType, e.bValue)}`,
        e,
      );
      for (const r of endpoints(e)) if (!known.has(nodeKey(r.type, r.value))) next.push(r);
    }
    if (edges.size > maxEdges) {
      throw new LoaderError(
        'SLUICE_ERR_IDENTITY_COMPONENT_TOO_LARGE',
        `the links to recompute reached ${edges.size}, over maxComponentEdges ${maxEdges}: nothing was written`,
      );
    }
    frontier = next;
  }
  if (known.size > maxIds) {
    throw new LoaderError(
      'SLUICE_ERR_IDENTITY_COMPONENT_TOO_LARGE',
      `the ids to recompute reached ${known.size}, over maxComponentIds ${maxIds}: nothing was written`,
    );
  }
  const result = computeIdentity([...edges.values()], rules);
  await store.replaceComponents([...components], [...known.values()], result);
  return { edges: edges.size, ids: known.size, components: components.size, rounds };
}

/**
 * Seeds per `recomputeAround` at most: a file or slice linking many small components (200k new users, each an
 * anonymous id and a user id) is recomputed a batch at a time, so the bounds hold per batch, not for the whole
 * file. A component reached from two batches is recomputed twice from the same committed edges: the same rows.
 */
export const SEED_BATCH = 5_000;

/** The seeds per batch under `rules`: a quarter of `maxComponentIds` at most, so a batch of seeds alone never fills it. */
export const seedBatch = (rules: IdentityRules): number =>
  Math.min(SEED_BATCH, Math.max(1, Math.floor(rules.maxComponentIds / 4)));

/** `recomputeAround` over `seeds`, a batch at a time (reports added up). */
export async function recomputeInBatches(
  store: IdentityStore,
  seeds: AsyncIterable<IdRef[]> | Iterable<IdRef[]>,
  rules: IdentityRules,
): Promise<UpkeepReport> {
  const total: UpkeepReport = { edges: 0, ids: 0, components: 0, rounds: 0 };
  for await (const batch of seeds) {
    const r = await recomputeAround(store, batch, rules);
    total.edges += r.edges;
    total.ids += r.ids;
    total.components += r.components;
    total.rounds += r.rounds;
  }
  return total;
}

/** The per-file upkeep (DuckDB): the load's log rows compacted, and the components they touch recomputed. */
export async function upkeepAfterLoad(
  store: IdentityStore,
  loadId: string,
  rules: IdentityRules,
  batch = seedBatch(rules),
): Promise<UpkeepReport> {
  // A warehouse that never saw a link has no identity tables (they, and the views, come with the first link).
  if (!(await store.hasLog())) return { edges: 0, ids: 0, components: 0, rounds: 0 };
  // The map's tables and views, and the compacted links, come with the first load that links anything.
  async function* compactedFirst(): AsyncIterable<IdRef[]> {
    let first = true;
    for await (const seeds of store.seedPages({ loadId }, batch)) {
      if (first) {
        await store.ensure(rules);
        await store.compact({ loadId });
        first = false;
      }
      yield seeds;
    }
  }
  return recomputeInBatches(store, compactedFirst(), rules);
}

/** Recomputes the whole map from `identity_edges` (the second half of a rebuild). */
export async function recomputeAll(store: IdentityStore, rules: IdentityRules): Promise<UpkeepReport> {
  await store.ensure(rules);
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
 * `identity_edge_log` in the file's own commit whenever a destination has it; `per_file`: the loader then compacts
 * them and recomputes the components they touch (DuckDB); `scheduled`: the bounded update (`updateIdentity`: the GCP scheduler's
 * function, or `npm run identity -- update`) does it under a lease (BigQuery, where the per-file statements would bill
 * 110 MB per file: 10 MB per table referenced each).
 */
export interface IdentityHook {
  readonly schedule: 'per_file' | 'scheduled';
  /** The store over the destination's open connection (valid between `open()` and `close()`). */
  store(): IdentityStore;
}
