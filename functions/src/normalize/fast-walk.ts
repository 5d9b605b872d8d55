import { isPlainObject } from '../model/plain-object.ts';
import type { CellValue, LogicalType } from '../model/warehouse.ts';
import type { ColumnRef, NameCache, NameNode } from '../naming/name-cache.ts';
import { coercionOf } from '../schema/coercion.ts';
import type { ColumnLayout } from '../schema/column-layout.ts';
import type { ResolvedRow } from '../schema/evolve.ts';
import { jsonText } from '../schema/fields.ts';
import { rfc3339 } from '../schema/infer.ts';
import type { ResolveState } from '../schema/resolve-state.ts';
import { CHILD_COLUMNS, DROPPED, ENVELOPE, ID_KEYS } from '../schema/segment-layout.ts';
import {
  emptyShape,
  type ObjectShape,
  type RowRole,
  type ShapeMember,
  type ShapeTarget,
  sameShape,
  type UpsertShape,
} from './compiled/shape.ts';
import type { NormalizerOptions } from './options.ts';
import { parsedJsonText } from './parse-json.ts';

/** What the fast path reads: the load's options and the normalizer's resolution state. */
export interface FastContext {
  options: NormalizerOptions;
  state: ResolveState;
}

/** A row being filled: cells by layout position, and the stamp that detects two keys meeting in one column. */
export interface Row {
  table: string;
  layout: ColumnLayout;
  stamp: number;
  at: number[];
  cells: CellValue[];
  role: RowRole;
}

/** An array of objects met while walking: it becomes child rows once its parent row is done. */
export interface PendingArray {
  base: string;
  items: Record<string, unknown>[];
  depth: number;
  /** Recording: the member that gets the items' shape. */
  member?: ShapeMember | undefined;
}

export class Walk {
  readonly rows: Row[] = [];
  readonly names: NameCache;
  readonly options: NormalizerOptions;
  private readonly state: ResolveState;

  /** Arrays of objects of this event's table go to its JSON column too (array mode `both`). */
  arrayJson = false;

  constructor(ctx: FastContext) {
    this.options = ctx.options;
    this.state = ctx.state;
    this.names = ctx.options.names;
  }

  /** A new row of `table`, or undefined when the table does not exist yet. */
  row(table: string, role: RowRole): Row | undefined {
    const cols = this.options.schema.get(table);
    if (cols === undefined) return undefined;
    const layout = this.state.layouts.of(table);
    layout.sync(cols);
    return { table, layout, stamp: this.state.nextRow(), at: [], cells: [], role };
  }

  /** Recording (`recordShape`): the plan of the object being walked, or null when not recording. */
  rec: ObjectShape | null = null;
  /** Recording found something a compiled shape does not cover (items of one array with differing shapes). */
  unrecordable = false;
  /** Recording an event of an upsert table's type: its upsert row (stays null when it has none). */
  upsert: UpsertShape | null = null;

  /** Where column `ref` of `row` is, and its type. */
  targetOf(row: Row, ref: ColumnRef): ShapeTarget {
    const pos = row.layout.positionOf(ref, this.names);
    return { role: row.role, pos, type: row.layout.types[pos] as LogicalType };
  }

  /**
   * Records a leaf member: where its value went (after `put` accepted it) and the columns' types. `json`: the value
   * was an array kept as JSON (`objects`: an array of objects would have been too).
   */
  private recordLeaf(
    a: Row,
    b: Row | null,
    ref: ColumnRef,
    envelope: boolean,
    json?: { objects: boolean },
  ): void {
    const rec = this.rec;
    if (rec === null) return;
    const to = this.targetOf(a, ref);
    const also = b === null ? null : this.targetOf(b, ref);
    rec.members.push(
      json === undefined
        ? { kind: 'leaf', a: to, b: also, envelope }
        : { kind: 'json', a: to, b: also, objects: json.objects },
    );
  }

  /**
   * `value` (typed `type`) into column `ref` of `a` (and of `b`, which shares `a`'s stamp: the envelope of a
   * track goes to two rows). False when this is not the common case.
   */
  put(a: Row, b: Row | null, ref: ColumnRef, type: LogicalType, value: CellValue): boolean {
    if (ref.stamp === a.stamp) return false;
    ref.stamp = a.stamp;
    return place(a, ref, type, value, this) && (b === null || place(b, ref, type, value, this));
  }

  /** The top-level keys and `context` of an event (see `envelopeFields` in route.ts). */
  envelope(event: Record<string, unknown>, a: Row, b: Row | null): boolean {
    const names = this.names;
    const top = names.root('');
    const rec = this.rec;
    let slot = -1;
    for (const key in event) {
      slot++;
      rec?.keys.push(key);
      if (DROPPED.has(key)) {
        rec?.members.push({ kind: 'skip' });
        continue;
      }
      const value = event[key];
      if (value === null || value === undefined) {
        rec?.members.push({ kind: 'null' });
        continue;
      }
      const column = ENVELOPE.get(key);
      if (column !== undefined && typeof value !== 'object') {
        // A numeric id: the general path (it may need the exact parse).
        if (typeof value !== 'string') return false;
        if (value === '' && ID_KEYS.has(key)) {
          // An empty id is absent, as null.
          rec?.members.push({ kind: 'absent' });
          continue;
        }
        const ts = rfc3339(value);
        const ref = names.ref(column);
        const ok =
          ts === undefined ? this.put(a, b, ref, 'STRING', value) : this.put(a, b, ref, 'TIMESTAMP', ts);
        if (!ok) return false;
        this.recordLeaf(a, b, ref, true);
        continue;
      }
      if (!this.entry(key, value, top, slot, 0, a, b, null)) return false;
    }
    const context = event.context;
    if (!isPlainObject(context)) {
      if (rec !== null && context !== undefined) this.recordContainer(rec, 'context', null);
      return true;
    }
    const shape = rec === null ? null : this.recordContainer(rec, 'context', emptyShape());
    return this.walkAs(shape, context, names.root('context'), 1, a, b, null);
  }

  /** Recording: the member of top-level `key` (first recorded as skipped) becomes `shape`, or must stay null. */
  recordContainer(rec: ObjectShape, key: string, shape: ObjectShape | null): ObjectShape | null {
    const at = rec.keys.indexOf(key);
    if (at >= 0) rec.members[at] = shape === null ? { kind: 'null' } : { kind: 'object', shape };
    return shape;
  }

  /** `walk` with `shape` as the recorded plan of `object` (null: not recording). */
  walkAs(
    shape: ObjectShape | null,
    object: Record<string, unknown>,
    node: NameNode,
    depth: number,
    a: Row,
    b: Row | null,
    arrays: PendingArray[] | null,
  ): boolean {
    const outer = this.rec;
    this.rec = shape;
    const ok = this.walk(object, node, depth, a, b, arrays);
    this.rec = outer;
    return ok;
  }

  /** The members of `object` at `depth` (see `flatten`). */
  walk(
    object: Record<string, unknown>,
    node: NameNode,
    depth: number,
    a: Row,
    b: Row | null,
    arrays: PendingArray[] | null,
  ): boolean {
    const rec = this.rec;
    let slot = 0;
    for (const key in object) {
      const value = object[key];
      rec?.keys.push(key);
      if (value !== null && value !== undefined) {
        if (!this.entry(key, value, node, slot, depth, a, b, arrays)) return false;
      } else {
        rec?.members.push({ kind: 'null' });
      }
      slot++;
    }
    return true;
  }

  /** One member (see `flattenEntry`). */
  private entry(
    key: string,
    value: unknown,
    node: NameNode,
    slot: number,
    depth: number,
    a: Row,
    b: Row | null,
    arrays: PendingArray[] | null,
  ): boolean {
    const name = this.names.child(node, key, slot);
    let ok: boolean;
    switch (typeof value) {
      case 'string': {
        const ts = rfc3339(value);
        ok =
          ts === undefined
            ? this.put(a, b, name.ref, 'STRING', value)
            : this.put(a, b, name.ref, 'TIMESTAMP', ts);
        break;
      }
      case 'number':
        if (Number.isSafeInteger(value)) ok = this.put(a, b, name.ref, 'INT64', value);
        else
          ok =
            Number.isFinite(value) && !Number.isInteger(value) && this.put(a, b, name.ref, 'FLOAT64', value);
        break;
      case 'boolean':
        ok = this.put(a, b, name.ref, 'BOOL', value);
        break;
      case 'object': {
        const rec = this.rec;
        if (Array.isArray(value)) {
          if (value.length === 0) {
            rec?.members.push({ kind: 'empty' });
            return true;
          }
          if (arrays !== null && value.every(isPlainObject)) {
            // Array mode `both`: Segment's JSON column on the parent as well as the child rows.
            let json: ShapeTarget | null = null;
            if (this.arrayJson) {
              const text = parsedJsonText(value);
              if (text === undefined || !this.put(a, b, name.ref, 'JSON', text)) return false;
              if (rec !== null) json = this.targetOf(a, name.ref);
            }
            const member: ShapeMember | undefined =
              rec === null
                ? undefined
                : { kind: 'children', table: '', layout: undefined, item: undefined, json };
            if (member !== undefined) rec?.members.push(member);
            arrays.push({ base: name.base, items: value, depth: depth + 1, member });
            return true;
          }
          // Undefined text: an integer beyond 2^53 in it needs the exact parse (general path).
          const text = parsedJsonText(value);
          if (text === undefined || !this.put(a, b, name.ref, 'JSON', text)) return false;
          this.recordLeaf(a, b, name.ref, false, { objects: arrays === null });
          return true;
        }
        if (depth + 1 > this.options.maxNestingDepth) return false;
        if (rec === null) return this.walk(value as Record<string, unknown>, name, depth + 1, a, b, arrays);
        const shape = emptyShape();
        rec.members.push({ kind: 'object', shape });
        return this.walkAs(shape, value as Record<string, unknown>, name, depth + 1, a, b, arrays);
      }
      default:
        return false;
    }
    if (ok && this.rec !== null) this.recordLeaf(a, b, name.ref, false);
    return ok;
  }

  /** Child rows of `arrays` under a parent row (see `childRows` in route.ts). */
  children(parentTable: string, parentId: string, rootId: string, arrays: PendingArray[]): boolean {
    const names = this.names;
    for (const array of arrays) {
      const table = names.childTable(parentTable, array.base);
      for (let i = 0; i < array.items.length; i++) {
        const row = this.row(table, 'item');
        if (row === undefined) return false;
        this.rows.push(row);
        const id = `${parentId}.${i}`;
        if (
          !this.put(row, null, names.ref(CHILD_COLUMNS.rootId), 'STRING', rootId) ||
          !this.put(row, null, names.ref(CHILD_COLUMNS.parentId), 'STRING', parentId) ||
          !this.put(row, null, names.ref(CHILD_COLUMNS.id), 'STRING', id) ||
          !this.put(row, null, names.ref(CHILD_COLUMNS.listIndex), 'INT64', i)
        ) {
          return false;
        }
        const nested: PendingArray[] = [];
        const member = array.member;
        const shape = member === undefined ? null : emptyShape();
        const item = array.items[i] as Record<string, unknown>;
        if (!this.walkAs(shape, item, names.root(''), array.depth, row, null, nested)) return false;
        if (nested.length > 0 && !this.children(table, id, rootId, nested)) return false;
        if (member?.kind === 'children' && shape !== null) {
          // Every item must have the first one's shape for the array to be compiled.
          if (member.item === undefined) {
            member.table = table;
            member.layout = row.layout;
            member.item = shape;
          } else if (!sameShape(member.item, shape)) {
            this.unrecordable = true;
          }
        }
      }
    }
    return true;
  }

  /** The rows, each with the bookkeeping cells (load time, load id) when the options carry them. */
  finish(): ResolvedRow[] {
    const tableColumns = this.options.tableColumns;
    const tableValues = this.options.tableValues;
    const out: ResolvedRow[] = [];
    for (const row of this.rows) {
      if (tableValues !== undefined) {
        const positions = row.layout.positionsOf(tableColumns);
        for (let j = 0; j < positions.length; j++) {
          row.at.push(positions[j] as number);
          row.cells.push(tableValues[j] as CellValue);
        }
      }
      out.push({ table: row.table, columns: row.layout.columns, at: row.at, cells: row.cells });
    }
    return out;
  }
}

/**
 * A value into its column of one row when the column exists and the coercion table (`COERCION`) says it takes the
 * value as is or as JSON text (see `placeAs` in evolve.ts); false for anything else (a new column, a variant, a
 * widening: the general path's business).
 */
function place(row: Row, ref: ColumnRef, type: LogicalType, value: CellValue, w: Walk): boolean {
  const layout = row.layout;
  const pos = layout.positionOf(ref, w.names);
  if (layout.reserved[pos] === true) return false;
  const existing = layout.types[pos];
  if (existing === undefined) return false;
  // `type` is the value's kind: the fast path never holds a bigint (it leaves those to the exact parse).
  const coercion = coercionOf(existing, type, w.options.canWidenIntToFloat);
  if (coercion === 'json') value = jsonText(type, value);
  else if (coercion !== 'write') return false;
  row.at.push(pos);
  row.cells.push(value);
  return true;
}
