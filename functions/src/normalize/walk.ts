import { isPlainObject } from '../model/plain-object.ts';
import type { CellValue, ColumnSchema, LogicalType } from '../model/warehouse.ts';
import type { ColumnRef, NameCache, NameNode } from '../naming/name-cache.ts';
import { coercionOf } from '../schema/coercion.ts';
import type { ColumnLayout } from '../schema/column-layout.ts';
import type { ResolvedRow } from '../schema/evolve.ts';
import { type Fields, jsonText, type RowDraft } from '../schema/fields.ts';
import { inferLeaf, rfc3339 } from '../schema/infer.ts';
import type { ResolveState } from '../schema/resolve-state.ts';
import {
  emptyShape,
  type ObjectShape,
  type RowRole,
  type ShapeMember,
  type ShapeTarget,
  type UpsertShape,
} from './compiled/shape.ts';
import type { NormalizerOptions } from './options.ts';
import { NeedsExactParse, parsedJsonText, toJsonText } from './parse-json.ts';

/** What a walk reads: the load's options and the normalizer's resolution state. */
export interface WalkContext {
  options: NormalizerOptions;
  state: ResolveState;
}

/**
 * A row being filled: on the fast branch its cells by layout position, and the stamp that detects two keys meeting
 * in one column; on the general branch its range of the field buffer (`draft`).
 */
export interface Row {
  table: string;
  layout: ColumnLayout;
  stamp: number;
  at: number[];
  cells: CellValue[];
  role: RowRole;
  draft: RowDraft | null;
}

/** The general branch's field buffer, and whether the event came from the exact parse (bigints). */
export interface GeneralBranch {
  fields: Fields;
  exact: boolean;
}

/** An array of objects met while walking: it becomes child rows once its parent row is done. */
export interface PendingArray {
  base: string;
  items: Record<string, unknown>[];
  depth: number;
  /** The general branch: the array's dotted source path (`properties.products`). */
  source: string;
  /** Recording: the member that gets the items' shape. */
  member?: ShapeMember | undefined;
}

/**
 * The one walk of an event's members by the Segment layout (`route.ts`) and the coercion table (`COERCION`), in
 * two branches:
 * - fast (`general` null): each value goes straight into its row's cell, with no per-value object. It gives up
 *   (false) at the first thing outside the common case: a missing table or column, a type that needs a variant or
 *   a widening, two keys of a row meeting in one column, a reserved column, an integer beyond 2^53, an object past
 *   the depth limit, a non-string envelope value. The compiled shapes are recorded from this branch (`rec`).
 * - general: the same walk writes each value to the field buffer and each row as a range of it; schema
 *   resolution (`schema/evolve.ts`) then decides variants, widenings, collisions and contracts. It takes every
 *   valid event (an integer beyond 2^53 of a `JSON.parse` result throws `NeedsExactParse`: parse again exactly).
 */
export class Walk {
  readonly rows: Row[] = [];
  readonly drafts: RowDraft[] = [];
  readonly names: NameCache;
  readonly options: NormalizerOptions;
  private readonly state: ResolveState;
  /** The general branch's field buffer (null: the fast branch). */
  readonly fields: Fields | null;
  /** The event came from the exact parse (integers beyond 2^53 are bigints). */
  readonly exact: boolean;
  /** The general branch: dotted source path of the object being walked (the overflow column's keys). */
  private source = '';

  /** Arrays of objects of this event's table go to its JSON column too (array mode `both`). */
  arrayJson = false;

  constructor(ctx: WalkContext, general: GeneralBranch | null = null) {
    this.options = ctx.options;
    this.state = ctx.state;
    this.names = ctx.options.names;
    this.fields = general?.fields ?? null;
    this.exact = general?.exact ?? false;
    this.fields?.clear();
  }

  /**
   * A new row of `table` (`columns`: those a new table is created with), or undefined when the table does not
   * exist yet (fast branch). It ends where `end` is called (general branch).
   */
  row(table: string, role: RowRole, columns?: readonly ColumnSchema[]): Row | undefined {
    const fields = this.fields;
    if (fields !== null) {
      const draft: RowDraft = { table, start: fields.length, end: fields.length };
      if (columns !== undefined) draft.columns = columns;
      this.drafts.push(draft);
      const none = this.state.noLayout;
      return { table, layout: none, stamp: 0, at: [], cells: [], role, draft };
    }
    const cols = this.options.schema.get(table);
    if (cols === undefined) return undefined;
    const layout = this.state.layouts.of(table);
    layout.sync(cols);
    return { table, layout, stamp: this.state.nextRow(), at: [], cells: [], role, draft: null };
  }

  /** The general branch: `row`'s range ends at the fields written so far. */
  end(row: Row): void {
    if (row.draft !== null && this.fields !== null) row.draft.end = this.fields.length;
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
  recordLeaf(a: Row, b: Row | null, ref: ColumnRef, envelope: boolean, json?: { objects: boolean }): void {
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
   * `value` (typed `type`) of raw `key` (under `parent`, a dotted path) into column `ref` of `a` (and of `b`,
   * which shares `a`'s stamp: the envelope of a track goes to two rows). Fast branch: false when this is not the
   * common case. General branch: a field of the buffer (the rows are ranges of it).
   */
  put(
    a: Row,
    b: Row | null,
    ref: ColumnRef,
    type: LogicalType,
    value: CellValue,
    key: string,
    parent = '',
  ): boolean {
    if (this.fields !== null) {
      this.fields.push(ref, type, value, parent, key);
      return true;
    }
    if (ref.stamp === a.stamp) return false;
    ref.stamp = a.stamp;
    return place(a, ref, type, value, this) && (b === null || place(b, ref, type, value, this));
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
    source = this.source,
  ): boolean {
    const outer = this.rec;
    const outerSource = this.source;
    this.rec = shape;
    this.source = source;
    const ok = this.walk(object, node, depth, a, b, arrays);
    this.rec = outer;
    this.source = outerSource;
    return ok;
  }

  /** The members of `object` at `depth` (see `entry`). */
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

  /**
   * One member `key: value` (not null) of an object at `depth` whose name-trie node is `node`, at position `slot`
   * among its members: nested objects join their keys with `_` (`context.page.url` -> `context_page_url`); empty
   * objects/arrays are skipped; objects nested deeper than `maxNestingDepth` are one JSON value; a non-empty array
   * of objects goes to `arrays` (child rows) when given (and is one JSON value as well with `arrayJson`), every
   * other array is one JSON value.
   */
  entry(
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
    const ref = name.ref;
    const parent = this.source;
    let ok: boolean;
    switch (typeof value) {
      case 'string': {
        const ts = rfc3339(value);
        ok =
          ts === undefined
            ? this.put(a, b, ref, 'STRING', value, key, parent)
            : this.put(a, b, ref, 'TIMESTAMP', ts, key, parent);
        break;
      }
      case 'number':
        if (Number.isSafeInteger(value)) ok = this.put(a, b, ref, 'INT64', value, key, parent);
        else if (Number.isFinite(value) && !Number.isInteger(value))
          ok = this.put(a, b, ref, 'FLOAT64', value, key, parent);
        else ok = this.general(a, b, ref, value, key);
        break;
      case 'boolean':
        ok = this.put(a, b, ref, 'BOOL', value, key, parent);
        break;
      case 'object': {
        const rec = this.rec;
        // The general branch's source path (none on the fast one: no string per object).
        const source = this.fields === null ? '' : parent === '' ? key : `${parent}.${key}`;
        if (Array.isArray(value)) {
          if (value.length === 0) {
            rec?.members.push({ kind: 'empty' });
            return true;
          }
          if (arrays !== null && value.every(isPlainObject)) {
            // Array mode `both`: Segment's JSON column on the parent as well as the child rows.
            let json: ShapeTarget | null = null;
            if (this.arrayJson) {
              const text = this.jsonOf(value);
              if (text === undefined || !this.put(a, b, ref, 'JSON', text, key, parent)) return false;
              if (rec !== null) json = this.targetOf(a, ref);
            }
            const member: ShapeMember | undefined =
              rec === null
                ? undefined
                : { kind: 'children', table: '', layout: undefined, item: undefined, json };
            if (member !== undefined) rec?.members.push(member);
            arrays.push({ base: name.base, items: value, depth: depth + 1, source, member });
            return true;
          }
          const text = this.jsonOf(value);
          if (text === undefined || !this.put(a, b, ref, 'JSON', text, key, parent)) return false;
          this.recordLeaf(a, b, ref, false, { objects: arrays === null });
          return true;
        }
        if (depth + 1 > this.options.maxNestingDepth) {
          // Kept whole as one JSON value: the general branch's (a compiled shape records no such member).
          const text = this.fields === null ? undefined : this.jsonOf(value);
          return text !== undefined && this.put(a, b, ref, 'JSON', text, key, parent);
        }
        const object = value as Record<string, unknown>;
        if (rec === null) return this.walkAs(null, object, name, depth + 1, a, b, arrays, source);
        const shape = emptyShape();
        rec.members.push({ kind: 'object', shape });
        return this.walkAs(shape, object, name, depth + 1, a, b, arrays, source);
      }
      default:
        ok = this.general(a, b, ref, value, key);
    }
    if (ok && this.rec !== null) this.recordLeaf(a, b, ref, false);
    return ok;
  }

  /**
   * A leaf only the general branch writes (false on the fast one): an integral number beyond 2^53 (from
   * `JSON.parse`: `NeedsExactParse`; from the exact parse, a bigint or an exponent form), a non-finite number.
   */
  private general(a: Row, b: Row | null, ref: ColumnRef, value: unknown, key: string): boolean {
    if (this.fields === null) return false;
    if (typeof value === 'number' && Number.isInteger(value) && !this.exact) throw new NeedsExactParse();
    const typed = inferLeaf(value as boolean | number | bigint | string);
    return this.put(a, b, ref, typed.type, typed.value, key, this.source);
  }

  /**
   * JSON text of a parsed value; undefined on the fast branch when it holds an integer beyond 2^53 (the general
   * branch throws `NeedsExactParse` for one, or writes every digit after the exact parse).
   */
  private jsonOf(value: unknown): string | undefined {
    if (this.exact) return toJsonText(value);
    const text = parsedJsonText(value);
    if (text === undefined && this.fields !== null) throw new NeedsExactParse();
    return text;
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
