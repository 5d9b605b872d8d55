import { finishIdentifier, type NamingRules } from './identifier.ts';
import { snakeCase } from './snake-case.ts';
import { stableHash } from './stable-hash.ts';

/**
 * One interned column name. Every key path that yields the name shares this object, so the same-row collision
 * check (two keys of one row mapping to one column) is an integer compare on `stamp`, not a map lookup per value.
 */
export interface ColumnRef {
  readonly name: string;
  /** Number of the row that last set this column (see `schema/evolve.ts`). */
  stamp: number;
  /**
   * Small integer, unique among the refs of one `NameCache.epoch`: lets a table layout find a column's position
   * with an array index instead of a map lookup (see `schema/column-layout.ts`).
   */
  readonly id: number;
}

/**
 * The engine's internalized copy of `text`: names built by concatenation are not, and every use as a property key
 * (`values[column] = ...`) or a set member would hash and look them up in the string table again.
 */
function internalized(text: string): string {
  const holder: Record<string, true> = {};
  holder[text] = true;
  return Object.keys(holder)[0] ?? text;
}

/** Member positions per node with a cached child (wider objects fall back to the map past this). */
const MAX_SEQ = 64;

/** `base` -> container base to hoist under (`properties`), or undefined to keep it (see `SEGMENT_LAYOUT` in schema/segment-layout.ts). */
export type Rebase = (base: string) => string | undefined;

/**
 * A node of the key-path trie: the resolved names of one raw key under its parent node. Flattening walks the trie
 * with one `Map.get` per key (raw key -> node) instead of joining path strings and re-deriving names per value.
 */
export class NameNode {
  children: Map<string, NameNode> | undefined = undefined;
  /**
   * The child last found at each member position of this node's objects: events of one kind repeat their keys in
   * the same order, so `seqKeys[i] === key` (a pointer compare: parsed keys are internalized) usually replaces the
   * map lookup.
   */
  seqKeys: string[] | undefined = undefined;
  seqNodes: NameNode[] | undefined = undefined;
  constructor(
    /** The joined snake_case path before identifier rules (parent of nested keys, child table names). */
    readonly base: string,
    /** The final column name ('' for a root). */
    readonly column: string,
    readonly ref: ColumnRef,
    /** Only on roots: rewrites the base of first-level keys (hoisting rules). */
    readonly rebase: Rebase | undefined,
  ) {}
}

export interface ColumnName {
  /** The joined snake_case path before identifier rules (used to derive nested and child names). */
  base: string;
  /** The final column name. */
  column: string;
}

/**
 * Memoizes key -> column names per parent path: flattening the same keys event after event costs one map lookup.
 * The cache is bounded (cleared when it passes `limit` entries) so hostile key sets cannot grow memory.
 */
export class NameCache {
  private readonly columns = new Map<string, Map<string, ColumnName>>();
  private size = 0;
  private readonly tables = new Map<string, string>();
  private readonly children = new Map<string, Map<string, string>>();
  private readonly refs = new Map<string, ColumnRef>();
  private readonly roots = new Map<string, NameNode>();
  private readonly rebasedRoots = new Map<Rebase, NameNode>();
  private nodes = 0;
  /** Changes whenever the refs are dropped (`maintain`): ref ids are only unique within one epoch. */
  epoch = 0;

  constructor(
    readonly rules: NamingRules,
    private readonly limit = 200_000,
  ) {}

  /** Column for `key` under a parent whose base name is `parentBase` ('' at top level). */
  column(parentBase: string, key: string): ColumnName {
    let byKey = this.columns.get(parentBase);
    if (byKey === undefined) {
      byKey = new Map();
      this.columns.set(parentBase, byKey);
    }
    let found = byKey.get(key);
    if (found === undefined) {
      let part = snakeCase(key);
      if (part === '') part = `k${stableHash(key)}`;
      const base = parentBase === '' ? part : `${parentBase}_${part}`;
      found = {
        base: internalized(base),
        column: internalized(finishIdentifier(base, key, this.rules, this.rules.maxColumn, true)),
      };
      if (++this.size > this.limit) {
        this.columns.clear();
        this.size = 0;
      }
      byKey.set(key, found);
    }
    return found;
  }

  /** The interned reference of a column name. */
  ref(column: string): ColumnRef {
    let found = this.refs.get(column);
    if (found === undefined) {
      found = { name: column, stamp: 0, id: this.refs.size };
      this.refs.set(column, found);
    }
    return found;
  }

  /** Root of the trie for keys under a parent whose base name is `parentBase`, optionally with a rebase rule. */
  root(parentBase: string, rebase?: Rebase): NameNode {
    if (rebase !== undefined) {
      let found = this.rebasedRoots.get(rebase);
      if (found === undefined) {
        found = new NameNode(parentBase, '', this.ref(''), rebase);
        this.rebasedRoots.set(rebase, found);
      }
      return found;
    }
    let found = this.roots.get(parentBase);
    if (found === undefined) {
      found = new NameNode(parentBase, '', this.ref(''), undefined);
      this.roots.set(parentBase, found);
    }
    return found;
  }

  /**
   * The node of raw `key` under `node`: same names as `column(node.base, key)` (after the root's rebase). `slot` is
   * the member's position in its object (-1: unknown), for the per-position cache.
   */
  child(node: NameNode, key: string, slot = -1): NameNode {
    if (slot >= 0 && node.seqKeys !== undefined && node.seqKeys[slot] === key) {
      return (node.seqNodes as NameNode[])[slot] as NameNode;
    }
    const found = this.lookup(node, key);
    if (slot >= 0 && slot < MAX_SEQ) {
      node.seqKeys ??= [];
      node.seqNodes ??= [];
      node.seqKeys[slot] = key;
      node.seqNodes[slot] = found;
    }
    return found;
  }

  private lookup(node: NameNode, key: string): NameNode {
    let children = node.children;
    if (children === undefined) {
      children = new Map();
      node.children = children;
    } else {
      const found = children.get(key);
      if (found !== undefined) return found;
    }
    let name = this.column(node.base, key);
    if (node.rebase !== undefined) {
      const rebased = node.rebase(name.base);
      if (rebased !== undefined) name = this.column(rebased, key);
    }
    const made = new NameNode(name.base, name.column, this.ref(name.column), undefined);
    this.nodes++;
    children.set(key, made);
    return made;
  }

  /**
   * Bounds the caches (hostile key sets): called between events, so no event ever sees two refs for one name.
   */
  maintain(): void {
    if (this.nodes <= this.limit && this.refs.size <= this.limit) return;
    this.nodes = 0;
    this.epoch++;
    this.refs.clear();
    this.roots.clear();
    this.rebasedRoots.clear();
  }

  /** A table name from a raw name (an event name) or from already snake-cased parts (child tables). */
  table(raw: string, reservedTables: ReadonlySet<string>): string {
    let found = this.tables.get(raw);
    if (found === undefined) {
      let base = snakeCase(raw);
      if (reservedTables.has(base)) base = `${base}_event`;
      found = finishIdentifier(base, raw, this.rules, this.rules.maxTable, false);
      if (this.tables.size >= this.limit) this.tables.clear();
      this.tables.set(raw, found);
    }
    return found;
  }

  /** Child table name: `<parent table>__<array column base>`, shortened with a hash when too long. */
  childTable(parentTable: string, arrayBase: string): string {
    let byBase = this.children.get(parentTable);
    if (byBase === undefined) {
      byBase = new Map();
      this.children.set(parentTable, byBase);
    }
    let found = byBase.get(arrayBase);
    if (found === undefined) {
      const base = `${parentTable}__${arrayBase}`;
      found = finishIdentifier(base, base, this.rules, this.rules.maxTable, false);
      byBase.set(arrayBase, found);
    }
    return found;
  }
}
