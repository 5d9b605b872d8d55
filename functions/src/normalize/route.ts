import type { EventType } from '@sluice/sdk/protocol';
import { isPlainObject } from '../model/plain-object.ts';
import type { CellValue, LogicalType } from '../model/warehouse.ts';
import type { NameCache, NameNode } from '../naming/name-cache.ts';
import { type ArrayMode, arraysFor, type Contracts } from '../schema/contracts.ts';
import type { Fields, RowDraft } from '../schema/fields.ts';
import { inferLeaf, rfc3339 } from '../schema/infer.ts';
import {
  CHILD_COLUMNS,
  DROPPED,
  ENVELOPE,
  ID_KEYS,
  RESERVED_TABLES,
  SEGMENT_LAYOUT,
  UPSERT_REBASE,
} from '../schema/segment-layout.ts';
import { type ChildArray, type FlattenOptions, flatten, flattenEntry } from './flatten.ts';
import { idText, upsertId } from './ids.ts';

/**
 * The general path's routing: one valid event -> its rows as ranges of a field buffer, by the Segment layout
 * (`SEGMENT_LAYOUT`). Schema resolution (`schema/evolve.ts`) then turns them into rows of cells.
 */
export interface RoutedEvent {
  /** The event's rows, as ranges of `fields`. */
  rows: RowDraft[];
}

export interface RouteOptions extends FlattenOptions {
  /** The per-table settings (`arrays`: how arrays of objects are kept); absent: defaults. */
  contracts?: Contracts;
}

/**
 * Flatten options and child-table collector for an event table's arrays of objects under `mode`: `both` collects
 * children and writes the JSON column too, `child_table` only collects, `json` collects none (JSON only).
 */
function arrayOptions(options: RouteOptions, mode: ArrayMode): RouteOptions {
  return mode === 'both' ? { ...options, arrayJson: true } : options;
}

/** A constant field (envelope and bookkeeping columns). */
function constField(
  out: Fields,
  names: NameCache,
  column: string,
  type: LogicalType,
  value: CellValue,
  key: string,
): void {
  out.push(names.ref(column), type, value, '', key);
}

/** A top-level container (`properties`, `traits`, `context`) at depth 1, when it is an object (else nothing). */
function flattenContainer(
  value: unknown,
  node: NameNode,
  source: string,
  options: RouteOptions,
  out: Fields,
  children: ChildArray[] | null,
): void {
  if (isPlainObject(value)) flatten(value, node, source, 1, options, out, children);
}

function envelopeFields(event: Record<string, unknown>, options: RouteOptions, out: Fields): void {
  const names = options.names;
  const top = names.root('');
  let slot = -1;
  for (const key in event) {
    slot++;
    if (DROPPED.has(key)) continue;
    const value = event[key];
    if (value === null || value === undefined) continue;
    const column = ENVELOPE.get(key);
    if (column !== undefined && typeof value !== 'object') {
      if (typeof value === 'string') {
        // An empty id is absent (the protocol refuses "" for the other envelope keys).
        if (value === '' && ID_KEYS.has(key)) continue;
        // The protocol check made these strings (ids, RFC 3339 times): no TypedValue allocated per field.
        const ts = rfc3339(value);
        if (ts === undefined) constField(out, names, column, 'STRING', value, key);
        else constField(out, names, column, 'TIMESTAMP', ts, key);
      } else if (ID_KEYS.has(key) && (typeof value === 'number' || typeof value === 'bigint')) {
        constField(out, names, column, 'STRING', idText(value, options.exact === true), key);
      } else {
        const typed = inferLeaf(value as boolean | number | bigint);
        constField(out, names, column, typed.type, typed.value, key);
      }
      continue;
    }
    flattenEntry(key, value, top, '', 0, options, out, null, slot);
  }
  flattenContainer(event.context, names.root('context'), 'context', options, out, null);
}

function childRows(
  parentTable: string,
  parentId: string,
  rootId: string,
  arrays: ChildArray[],
  options: RouteOptions,
  out: Fields,
  rows: RowDraft[],
): void {
  const names = options.names;
  for (const array of arrays) {
    const table = names.childTable(parentTable, array.base);
    for (let i = 0; i < array.items.length; i++) {
      const id = `${parentId}.${i}`;
      const start = out.length;
      constField(out, names, CHILD_COLUMNS.rootId, 'STRING', rootId, CHILD_COLUMNS.rootId);
      constField(out, names, CHILD_COLUMNS.parentId, 'STRING', parentId, CHILD_COLUMNS.parentId);
      constField(out, names, CHILD_COLUMNS.id, 'STRING', id, CHILD_COLUMNS.id);
      constField(out, names, CHILD_COLUMNS.listIndex, 'INT64', i, CHILD_COLUMNS.listIndex);
      const nested: ChildArray[] = [];
      const item = array.items[i] as Record<string, unknown>;
      flatten(item, names.root(''), `${array.source}[${i}]`, array.depth, options, out, nested);
      rows.push({ table, start, end: out.length });
      if (nested.length > 0) childRows(table, id, rootId, nested, options, out, rows);
    }
  }
}

/**
 * Routes one valid event to its rows: the type's Segment table (`tracks` with common columns only, `identifies`,
 * `pages`, ...), for `track` also the event's own table with properties as top-level columns, child tables for
 * arrays of objects in properties/traits (and, by the table's array mode, their JSON column on the parent), and
 * for an event of an upsert table's type with its id an upsert row (`UPSERT_TABLES`: identify -> `users`, group ->
 * `accounts`; arrays as JSON). Each Segment table's row names the
 * columns the table is created with (`SEGMENT_COLUMNS`).
 * The rows' values are written to `out` (cleared first); a row is a range of it (`tracks` is a prefix of the
 * event table's range: the same envelope fields).
 */
export function routeEvent(
  event: Record<string, unknown> & { type: EventType },
  eventId: string,
  options: RouteOptions,
  out: Fields,
): RoutedEvent {
  const rows: RowDraft[] = [];
  const names = options.names;
  names.maintain();
  out.clear();
  envelopeFields(event, options, out);
  const layout = SEGMENT_LAYOUT[event.type];
  const columns = layout.columns;
  // The table the payload goes to: a track's own table (after `event` and `event_text`), else the type's table.
  let table = layout.table;
  if (layout.ownTable) {
    const name = String(event.event);
    table = names.table(name, RESERVED_TABLES);
    constField(out, names, 'event', 'STRING', table, 'event');
    constField(out, names, 'event_text', 'STRING', name, 'event');
    rows.push({ table: layout.table, start: 0, end: out.length, columns });
  }
  const mode = arraysFor(options.contracts, table);
  const arrays: ChildArray[] | null = mode === 'json' ? null : [];
  const payloadOptions = arrayOptions(options, mode);
  const payload = layout.payload === null ? undefined : event[layout.payload];
  const container = layout.payload ?? 'properties';
  flattenContainer(payload, names.root('', layout.rebase), container, payloadOptions, out, arrays);
  rows.push({ table, start: 0, end: out.length, columns });
  if (arrays !== null) childRows(table, eventId, eventId, arrays, payloadOptions, out, rows);
  const upsert = layout.upsert;
  const id = upsert === undefined ? undefined : upsertId(upsert, event, options.exact === true);
  if (upsert !== undefined && id !== undefined) {
    const start = out.length;
    constField(out, names, upsert.key, 'STRING', id, upsert.idMember);
    const receivedAt = typeof event.receivedAt === 'string' ? rfc3339(event.receivedAt) : undefined;
    if (receivedAt !== undefined) {
      constField(out, names, 'received_at', 'TIMESTAMP', receivedAt, 'receivedAt');
    }
    flattenContainer(upsert.traits(event), names.root('', UPSERT_REBASE), 'traits', options, out, null);
    rows.push({ table: upsert.table, start, end: out.length });
  }
  return { rows };
}
