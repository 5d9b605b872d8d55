import type { EventType } from '@sluice/sdk/protocol';
import type { CellValue, LogicalType, WarehouseSchema } from '../destinations/destination.ts';
import type { ColumnRef, NameCache, NameNode } from '../naming/name-cache.ts';
import { CHILD_COLUMNS, DROPPED, ENVELOPE, REBASE, RESERVED_TABLES, ROOT_TABLES } from '../route.ts';
import { metaNamesOf, nextRowNumber, type ResolvedRow } from '../schema/evolve.ts';
import { rfc3339 } from '../schema/infer.ts';
import { layoutOf, type TableLayout } from '../schema/table-layout.ts';
import { jsonText } from './field.ts';
import { isPlainObject } from './flatten.ts';
import type { NormalizerOptions } from './normalize-line.ts';
import { toJsonText } from './parse-json.ts';

/**
 * The common case of normalization in one pass. Once a kind of event has been loaded, the next ones need no schema
 * change: every column exists with a type that takes the value. This routes (as `routeEvent`) and resolves (as
 * `resolveEvent`) at once, writing each value straight into its row, with no per-value object and no second walk.
 *
 * It gives up (returns undefined, having changed nothing but harmless layout positions) at the first thing
 * outside that case: a missing table or column, a type that needs a variant or a widening, two keys of a row
 * meeting in one column, a reserved column, an integer beyond 2^53, an object past the depth limit, a non-string
 * envelope value. The caller then runs the general path, which yields the same rows for every event this path
 * accepts (property-tested in fast-path.test.ts).
 */
export function fastNormalize(
  event: Record<string, unknown> & { type: EventType },
  eventId: string,
  schema: WarehouseSchema,
  options: NormalizerOptions,
): ResolvedRow[] | undefined {
  const names = options.names;
  names.maintain();
  const w = new Walk(schema, options);
  const type = event.type;
  const root = w.row(ROOT_TABLES[type]);
  if (root === undefined) return undefined;
  w.rows.push(root);
  if (type === 'track') {
    const name = String(event.event);
    const table = names.table(name, RESERVED_TABLES);
    const own = w.row(table);
    if (own === undefined) return undefined;
    // One stamp for both rows: a property meeting an envelope column is a collision in the event's own table.
    own.stamp = root.stamp;
    w.rows.push(own);
    // The envelope goes to both rows; properties to the event's own table only.
    if (!w.envelope(event, root, own)) return undefined;
    if (!w.put(root, own, names.ref('event'), 'STRING', table)) return undefined;
    if (!w.put(root, own, names.ref('event_text'), 'STRING', name)) return undefined;
    const arrays: PendingArray[] = [];
    const properties = event.properties;
    if (
      isPlainObject(properties) &&
      !w.walk(properties, names.root('', REBASE.track), 1, own, null, arrays)
    ) {
      return undefined;
    }
    if (!w.children(table, eventId, eventId, arrays)) return undefined;
    return w.finish();
  }
  if (!w.envelope(event, root, null)) return undefined;
  const container = type === 'identify' || type === 'group' ? 'traits' : 'properties';
  const payload = type === 'alias' ? undefined : event[container];
  const arrays: PendingArray[] = [];
  if (isPlainObject(payload) && !w.walk(payload, names.root('', REBASE[type]), 1, root, null, arrays)) {
    return undefined;
  }
  if (!w.children(ROOT_TABLES[type], eventId, eventId, arrays)) return undefined;
  if (type === 'identify' && typeof event.userId === 'string' && event.userId !== '') {
    const users = w.row('users');
    if (users === undefined) return undefined;
    w.rows.push(users);
    if (!w.put(users, null, names.ref('id'), 'STRING', event.userId)) return undefined;
    const receivedAt = typeof event.receivedAt === 'string' ? rfc3339(event.receivedAt) : undefined;
    if (receivedAt !== undefined && !w.put(users, null, names.ref('received_at'), 'TIMESTAMP', receivedAt)) {
      return undefined;
    }
    const traits = event.traits;
    if (isPlainObject(traits) && !w.walk(traits, names.root('', REBASE.users), 1, users, null, null))
      return undefined;
  }
  return w.finish();
}

/** A row being filled: cells by layout position, and the stamp that detects two keys meeting in one column. */
interface Row {
  table: string;
  layout: TableLayout;
  stamp: number;
  at: number[];
  cells: CellValue[];
}

/** An array of objects met while walking: it becomes child rows once its parent row is done. */
interface PendingArray {
  base: string;
  items: Record<string, unknown>[];
  depth: number;
}

class Walk {
  readonly rows: Row[] = [];
  private readonly names: NameCache;
  private readonly reserved: ReadonlySet<string>;

  constructor(
    private readonly schema: WarehouseSchema,
    private readonly options: NormalizerOptions,
  ) {
    this.names = options.names;
    this.reserved = metaNamesOf(options.tableColumns);
  }

  /** A new row of `table`, or undefined when the table does not exist yet. */
  row(table: string): Row | undefined {
    const cols = this.schema.get(table);
    if (cols === undefined) return undefined;
    const layout = layoutOf(this.schema, table, this.reserved);
    layout.sync(cols);
    return { table, layout, stamp: nextRowNumber(), at: [], cells: [] };
  }

  /**
   * `value` (typed `type`) into column `ref` of `a` (and of `b`, which shares `a`'s stamp: the envelope of a
   * track goes to two rows). False when this is not the common case.
   */
  put(a: Row, b: Row | null, ref: ColumnRef, type: LogicalType, value: CellValue): boolean {
    if (ref.stamp === a.stamp) return false;
    ref.stamp = a.stamp;
    return place(a, ref, type, value, this.names) && (b === null || place(b, ref, type, value, this.names));
  }

  /** The top-level keys and `context` of an event (see `envelopeFields` in route.ts). */
  envelope(event: Record<string, unknown>, a: Row, b: Row | null): boolean {
    const names = this.names;
    const top = names.root('');
    let slot = -1;
    for (const key in event) {
      slot++;
      if (DROPPED.has(key)) continue;
      const value = event[key];
      if (value === null || value === undefined) continue;
      const column = ENVELOPE.get(key);
      if (column !== undefined && typeof value !== 'object') {
        if (typeof value !== 'string') return false;
        const ts = rfc3339(value);
        const ok =
          ts === undefined
            ? this.put(a, b, names.ref(column), 'STRING', value)
            : this.put(a, b, names.ref(column), 'TIMESTAMP', ts);
        if (!ok) return false;
        continue;
      }
      if (!this.entry(key, value, top, slot, 0, a, b, null)) return false;
    }
    const context = event.context;
    return !isPlainObject(context) || this.walk(context, names.root('context'), 1, a, b, null);
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
    let slot = 0;
    for (const key in object) {
      const value = object[key];
      if (value !== null && value !== undefined && !this.entry(key, value, node, slot, depth, a, b, arrays)) {
        return false;
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
    switch (typeof value) {
      case 'string': {
        const ts = rfc3339(value);
        return ts === undefined
          ? this.put(a, b, name.ref, 'STRING', value)
          : this.put(a, b, name.ref, 'TIMESTAMP', ts);
      }
      case 'number':
        if (Number.isSafeInteger(value)) return this.put(a, b, name.ref, 'INT64', value);
        return (
          Number.isFinite(value) && !Number.isInteger(value) && this.put(a, b, name.ref, 'FLOAT64', value)
        );
      case 'boolean':
        return this.put(a, b, name.ref, 'BOOL', value);
      case 'object': {
        if (Array.isArray(value)) {
          if (value.length === 0) return true;
          if (arrays !== null && value.every(isPlainObject)) {
            arrays.push({ base: name.base, items: value, depth: depth + 1 });
            return true;
          }
          return this.put(a, b, name.ref, 'JSON', toJsonText(value));
        }
        if (depth + 1 > this.options.maxNestingDepth) return false;
        return this.walk(value as Record<string, unknown>, name, depth + 1, a, b, arrays);
      }
      default:
        return false;
    }
  }

  /** Child rows of `arrays` under a parent row (see `childRows` in route.ts). */
  children(parentTable: string, parentId: string, rootId: string, arrays: PendingArray[]): boolean {
    const names = this.names;
    for (const array of arrays) {
      const table = names.childTable(parentTable, array.base);
      for (let i = 0; i < array.items.length; i++) {
        const row = this.row(table);
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
        if (
          !this.walk(
            array.items[i] as Record<string, unknown>,
            names.root(''),
            array.depth,
            row,
            null,
            nested,
          )
        ) {
          return false;
        }
        if (nested.length > 0 && !this.children(table, id, rootId, nested)) return false;
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

/** A value into its column of one row when the column exists and takes it as is (see `placeAs` in evolve.ts). */
function place(row: Row, ref: ColumnRef, type: LogicalType, value: CellValue, names: NameCache): boolean {
  const layout = row.layout;
  const pos = layout.positionOf(ref, names);
  if (layout.reserved[pos] === true) return false;
  const existing = layout.types[pos];
  if (existing !== type) {
    if (existing === 'JSON') value = jsonText(type, value);
    else if (
      !((existing === 'FLOAT64' && type === 'INT64') || (existing === 'STRING' && type === 'TIMESTAMP'))
    ) {
      return false;
    }
  }
  row.at.push(pos);
  row.cells.push(value);
  return true;
}
