import { createHash } from 'node:crypto';
import { type IdentityRules, isBlocked } from '../schema/identity-rules.ts';
import { isoOfMicros } from './store-support.ts';
import type { EdgeKind, IdRef, MapRow, MergeRow } from './tables.ts';
import { nodeKey } from './tables.ts';

/** An edge as the map computation reads it back from `identity_edges` (time as epoch microseconds). */
export interface GraphEdge {
  aType: string;
  aValue: string;
  bType: string;
  bValue: string;
  kind: EdgeKind;
  eventId: string;
  ordinal: number;
  /** The first event that made the link (the canonical order's key). */
  atMicros: number;
  /** The last event that made it (an id's `last_seen` in the map). */
  lastMicros: number;
}

/** A stable, opaque id for an id (no id value in clear: an erased id leaves no trace in other persons' rows). */
function stableId(prefix: string, type: string, value: string): string {
  return `${prefix}${createHash('sha256').update(nodeKey(type, value)).digest('hex').slice(0, 32)}`;
}

/** The person id a person gets from its anchor id (its earliest-seen user id, else its earliest-seen id). */
export const personIdOf = (type: string, value: string): string => stableId('p_', type, value);
const componentIdOf = (type: string, value: string): string => stableId('c_', type, value);

const cmp = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);

/** The canonical order: the event's timestamp, then its messageId, then the link's place in the event. */
export function compareEdges(x: GraphEdge, y: GraphEdge): number {
  return (
    x.atMicros - y.atMicros ||
    cmp(x.eventId, y.eventId) ||
    x.ordinal - y.ordinal ||
    cmp(x.aType, y.aType) ||
    cmp(x.aValue, y.aValue) ||
    cmp(x.bType, y.bType) ||
    cmp(x.bValue, y.bValue)
  );
}

/** Edges that can link: both ids allowed by the rules, two different ids. */
export function linkable(e: GraphEdge, rules: IdentityRules): boolean {
  if (isBlocked(e.aValue, rules) || isBlocked(e.bValue, rules)) return false;
  return !(e.aType === e.bType && e.aValue === e.bValue);
}

interface Node {
  ref: IdRef;
  key: string;
  /** Index of the first edge (in canonical order) that mentions it. */
  first: number;
  firstSeen: number;
  lastSeen: number;
  /** Named by an event as this type: the b side of any link, or the a side of a link that is not an alias's. */
  direct: boolean;
}

/** Anchor preference: user ids first, then the earliest seen, then by type and value (a total order). */
function better(x: Node, y: Node): Node {
  const ux = x.ref.type === 'user_id' ? 0 : 1;
  const uy = y.ref.type === 'user_id' ? 0 : 1;
  if (ux !== uy) return ux < uy ? x : y;
  if (x.first !== y.first) return x.first < y.first ? x : y;
  const c = cmp(x.ref.type, y.ref.type) || cmp(x.ref.value, y.ref.value);
  return c <= 0 ? x : y;
}

export interface IdentityResult {
  map: MapRow[];
  merges: MergeRow[];
}

/**
 * The identity map of a set of edges under the rules, by raw connected component (all linkable edges, flagged
 * ones included): within each, edges apply in canonical order to a union-find where an edge (not an alias) that
 * would join two persons that both hold user ids, beyond `maxUserIdsPerPerson` together, is flagged
 * (`rejected_user_limit`) instead. A component's result depends on its own edges only, so recomputing the
 * components an edge touches gives the same rows as recomputing everything (incremental = rebuild).
 */
export function computeIdentity(edges: readonly GraphEdge[], rules: IdentityRules): IdentityResult {
  const sorted = edges.filter((e) => linkable(e, rules)).sort(compareEdges);
  // Raw components (every linkable edge).
  const raw = new Map<string, string>();
  const rawFind = (k: string): string => {
    let r = k;
    while (raw.get(r) !== r) r = raw.get(r) as string;
    let c = k;
    while (c !== r) {
      const next = raw.get(c) as string;
      raw.set(c, r);
      c = next;
    }
    return r;
  };
  for (const e of sorted) {
    const a = nodeKey(e.aType, e.aValue);
    const b = nodeKey(e.bType, e.bValue);
    if (!raw.has(a)) raw.set(a, a);
    if (!raw.has(b)) raw.set(b, b);
    const ra = rawFind(a);
    const rb = rawFind(b);
    if (ra !== rb) raw.set(ra, rb);
  }
  const byComponent = new Map<string, GraphEdge[]>();
  for (const e of sorted) {
    const root = rawFind(nodeKey(e.aType, e.aValue));
    let list = byComponent.get(root);
    if (!list) {
      list = [];
      byComponent.set(root, list);
    }
    list.push(e);
  }
  const map: MapRow[] = [];
  const merges: MergeRow[] = [];
  for (const componentEdges of byComponent.values()) {
    const result = computeComponent(componentEdges, rules);
    // One push per row: a spread of a large component's rows overflows the call stack.
    for (const row of result.map) map.push(row);
    for (const row of result.merges) merges.push(row);
  }
  return { map, merges };
}

/** One raw component, its edges in canonical order. */
function computeComponent(edges: readonly GraphEdge[], rules: IdentityRules): IdentityResult {
  const nodes = new Map<string, Node>();
  const parent = new Map<string, string>();
  const users = new Map<string, number>();
  const anchor = new Map<string, Node>();
  const find = (k: string): string => {
    let r = k;
    while (parent.get(r) !== r) r = parent.get(r) as string;
    parent.set(k, r);
    return r;
  };
  const see = (
    type: string,
    value: string,
    i: number,
    at: number,
    last: number,
  ): { node: Node; isNew: boolean } => {
    const key = nodeKey(type, value);
    const known = nodes.get(key);
    if (known) {
      known.lastSeen = Math.max(known.lastSeen, last);
      return { node: known, isNew: false };
    }
    const node: Node = { ref: { type, value }, key, first: i, firstSeen: at, lastSeen: last, direct: false };
    nodes.set(key, node);
    parent.set(key, key);
    users.set(key, type === 'user_id' ? 1 : 0);
    anchor.set(key, node);
    return { node, isNew: true };
  };
  const userOf = (root: string): string | null => {
    const a = anchor.get(root) as Node;
    return a.ref.type === 'user_id' ? a.ref.value : null;
  };
  const pid = (root: string): string => {
    const a = anchor.get(root) as Node;
    return personIdOf(a.ref.type, a.ref.value);
  };
  const pending: Omit<MergeRow, 'componentId' | 'seq'>[] = [];
  edges.forEach((e, i) => {
    const a = see(e.aType, e.aValue, i, e.atMicros, e.lastMicros);
    const b = see(e.bType, e.bValue, i, e.atMicros, e.lastMicros);
    // An alias's previous id is linked under both types (edges.ts); only the b side, or a non-alias a side, is
    // what an event called it.
    b.node.direct = true;
    if (e.kind !== 'alias') a.node.direct = true;
    const ra = find(a.node.key);
    const rb = find(b.node.key);
    if (ra === rb) return;
    const ua = users.get(ra) as number;
    const ub = users.get(rb) as number;
    const record = {
      aType: e.aType,
      aValue: e.aValue,
      bType: e.bType,
      bValue: e.bValue,
      eventId: e.eventId,
      timestamp: isoOfMicros(e.atMicros),
    };
    if (e.kind !== 'alias' && ua > 0 && ub > 0 && ua + ub > rules.maxUserIdsPerPerson) {
      pending.push({ action: 'rejected_user_limit', personId: pid(ra), mergedPersonId: pid(rb), ...record });
      return;
    }
    const keep = better(anchor.get(ra) as Node, anchor.get(rb) as Node);
    const [root, child] = keep === anchor.get(ra) ? [ra, rb] : [rb, ra];
    // A person that existed before this edge loses its person id: recorded (a brand-new id just joins).
    const childIsNewId = (child === a.node.key && a.isNew) || (child === b.node.key && b.isNew);
    if (!childIsNewId)
      pending.push({ action: 'merge', personId: pid(root), mergedPersonId: pid(child), ...record });
    parent.set(child, root);
    users.set(root, ua + ub);
    anchor.set(root, keep);
  });
  let first: Node | undefined;
  for (const n of nodes.values()) {
    if (
      first === undefined ||
      n.first < first.first ||
      (n.first === first.first && (cmp(n.ref.type, first.ref.type) || cmp(n.ref.value, first.ref.value)) < 0)
    )
      first = n;
  }
  const componentId = first ? componentIdOf(first.ref.type, first.ref.value) : '';
  // `listed`: the rows `persons` shows, each id value once per person: a direct row; else (an alias's previous id
  // never named otherwise) the anonymous-id row, unless a direct row of the same value is in the same person.
  const directValues = new Set<string>();
  for (const n of nodes.values()) if (n.direct) directValues.add(`${find(n.key)}\u0000${n.ref.value}`);
  const listed = (n: Node): boolean =>
    n.direct || (n.ref.type === 'anonymous_id' && !directValues.has(`${find(n.key)}\u0000${n.ref.value}`));
  const map: MapRow[] = [...nodes.values()].map((n) => ({
    idType: n.ref.type,
    idValue: n.ref.value,
    personId: pid(find(n.key)),
    userId: userOf(find(n.key)),
    componentId,
    firstSeen: isoOfMicros(n.firstSeen),
    lastSeen: isoOfMicros(n.lastSeen),
    listed: listed(n),
  }));
  return { map, merges: pending.map((m, seq) => ({ componentId, seq, ...m })) };
}
