import type { EventType } from '@sluice/sdk/protocol';
import type { CellValue, LogicalType } from './destinations/destination.ts';
import type { NameCache, NameNode, Rebase } from './naming/name-cache.ts';
import type { Fields, RowDraft } from './normalize/field.ts';
import {
  type ChildArray,
  type FlattenOptions,
  flatten,
  flattenEntry,
  isPlainObject,
} from './normalize/flatten.ts';
import { NeedsExactParse } from './normalize/parse-json.ts';
import { type ArrayMode, arraysFor, type Contracts } from './schema/contracts.ts';
import { inferLeaf, rfc3339 } from './schema/infer.ts';
import { SEGMENT_COLUMNS } from './schema/segment-columns.ts';
import { UPSERT_TABLES, type UpsertTable, upsertFrom } from './schema/upsert-tables.ts';

/** The Segment table each message type lands in. `Record<EventType, …>`: exhaustive by construction. */
export const ROOT_TABLES: Record<EventType, string> = {
  track: 'tracks',
  identify: 'identifies',
  page: 'pages',
  screen: 'screens',
  group: 'groups',
  alias: 'aliases',
};

/** Table names an event table may not take (`tracks` event -> `tracks_event`; `users`, `accounts` likewise). */
export const RESERVED_TABLES: ReadonlySet<string> = new Set([
  ...Object.values(ROOT_TABLES),
  ...UPSERT_TABLES.map((u) => u.table),
]);

/**
 * Envelope keys with Segment's column names. A Map: event keys are user data, and a plain object would answer
 * `constructor` or `__proto__` from its prototype.
 */
export const ENVELOPE: ReadonlyMap<string, string> = new Map([
  ['messageId', 'id'],
  ['receivedAt', 'received_at'],
  ['sentAt', 'sent_at'],
  ['originalTimestamp', 'original_timestamp'],
  ['timestamp', 'timestamp'],
  ['userId', 'user_id'],
  ['anonymousId', 'anonymous_id'],
  ['groupId', 'group_id'],
  ['previousId', 'previous_id'],
]);

/**
 * The id members (all envelope keys): stored as text, a number as its decimal digits (`idText`); an empty one is
 * absent (only `userId`/`anonymousId` may be empty: the protocol refuses an empty `groupId` or `previousId`).
 */
export const ID_KEYS: ReadonlySet<string> = new Set(['userId', 'anonymousId', 'groupId', 'previousId']);

/**
 * The column text of a numeric id: its decimal digits (`42` -> `'42'`; a bigint from the exact parse keeps every
 * digit). A `JSON.parse` number beyond 2^53 may have lost digits: `NeedsExactParse` (unless `exact`: the exact
 * parser returns such an integer as a bigint, so a number left here was written with an exponent, `1e30`, and is
 * stored as JavaScript writes it).
 */
export function idText(value: number | bigint, exact: boolean): string {
  if (typeof value === 'number' && !Number.isSafeInteger(value) && !exact) throw new NeedsExactParse();
  return String(value);
}

/**
 * The upsert-table row id of an event (`users`: its userId, `accounts`: its groupId) as text, or undefined when
 * absent (none, null, ""). One function for every path (general, fast, compiled shapes).
 */
export function upsertId(
  upsert: UpsertTable,
  event: Record<string, unknown>,
  exact: boolean,
): string | undefined {
  const value = event[upsert.idMember];
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'bigint') return idText(value, exact);
  return undefined;
}

/** Keys never stored as columns (`writeKey` is a secret; `integrations` are delivery switches, as in Segment). */
export const DROPPED: ReadonlySet<string> = new Set([
  'type',
  'properties',
  'traits',
  'integrations',
  'writeKey',
  'context',
  'event',
]);

/**
 * Column names that properties/traits may not take when hoisted to top level, per message type: a key whose
 * first-level name is one of these, or `context`/`context_*`, keeps its container prefix
 * (`properties.timestamp` -> `properties_timestamp`, `traits.id` -> `traits_id`).
 */
const COMMON_COLUMNS = [
  'id',
  'received_at',
  'sent_at',
  'original_timestamp',
  'timestamp',
  'user_id',
  'anonymous_id',
  'channel',
  'version',
  'source_id',
  'loaded_at',
  'context',
];
const HOISTING_RESERVED: Record<EventType | 'upsert', ReadonlySet<string>> = {
  track: new Set([...COMMON_COLUMNS, 'event', 'event_text']),
  identify: new Set(COMMON_COLUMNS),
  page: new Set([...COMMON_COLUMNS, 'name', 'category']),
  screen: new Set([...COMMON_COLUMNS, 'name', 'category']),
  group: new Set([...COMMON_COLUMNS, 'group_id']),
  alias: new Set([...COMMON_COLUMNS, 'previous_id']),
  upsert: new Set(['id', 'received_at', 'loaded_at', 'context']),
};

/** Child-table bookkeeping columns. */
export const CHILD_COLUMNS = {
  rootId: '_sluice_root_id',
  parentId: '_sluice_parent_id',
  id: '_sluice_id',
  listIndex: '_sluice_list_idx',
} as const;

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

function hoistRebase(reserved: ReadonlySet<string>, container: 'properties' | 'traits'): Rebase {
  return (base) => (reserved.has(base) || base.startsWith('context_') ? container : undefined);
}

export const REBASE = {
  track: hoistRebase(HOISTING_RESERVED.track, 'properties'),
  identify: hoistRebase(HOISTING_RESERVED.identify, 'traits'),
  page: hoistRebase(HOISTING_RESERVED.page, 'properties'),
  screen: hoistRebase(HOISTING_RESERVED.screen, 'properties'),
  group: hoistRebase(HOISTING_RESERVED.group, 'traits'),
  alias: hoistRebase(HOISTING_RESERVED.alias, 'properties'),
  /** Every upsert table's row (`users`, `accounts`). */
  upsert: hoistRebase(HOISTING_RESERVED.upsert, 'traits'),
} satisfies Record<EventType | 'upsert', Rebase>;

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
  const root = ROOT_TABLES[event.type];
  const columns = SEGMENT_COLUMNS[event.type];
  if (event.type === 'track') {
    const name = String(event.event);
    const table = names.table(name, RESERVED_TABLES);
    constField(out, names, 'event', 'STRING', table, 'event');
    constField(out, names, 'event_text', 'STRING', name, 'event');
    rows.push({ table: root, start: 0, end: out.length, columns });
    const mode = arraysFor(options.contracts, table);
    const arrays: ChildArray[] | null = mode === 'json' ? null : [];
    const props = arrayOptions(options, mode);
    flattenContainer(event.properties, names.root('', REBASE.track), 'properties', props, out, arrays);
    rows.push({ table, start: 0, end: out.length, columns });
    if (arrays !== null) childRows(table, eventId, eventId, arrays, props, out, rows);
    return { rows };
  }
  const container = event.type === 'identify' || event.type === 'group' ? 'traits' : 'properties';
  const mode = arraysFor(options.contracts, root);
  const arrays: ChildArray[] | null = mode === 'json' ? null : [];
  const payloadOptions = arrayOptions(options, mode);
  const payload = event.type === 'alias' ? undefined : event[container];
  flattenContainer(payload, names.root('', REBASE[event.type]), container, payloadOptions, out, arrays);
  rows.push({ table: root, start: 0, end: out.length, columns });
  if (arrays !== null) childRows(root, eventId, eventId, arrays, payloadOptions, out, rows);
  const upsert = upsertFrom(event.type);
  const id = upsert === undefined ? undefined : upsertId(upsert, event, options.exact === true);
  if (upsert !== undefined && id !== undefined) {
    const start = out.length;
    constField(out, names, upsert.key, 'STRING', id, upsert.idMember);
    const receivedAt = typeof event.receivedAt === 'string' ? rfc3339(event.receivedAt) : undefined;
    if (receivedAt !== undefined) {
      constField(out, names, 'received_at', 'TIMESTAMP', receivedAt, 'receivedAt');
    }
    flattenContainer(upsert.traits(event), names.root('', REBASE.upsert), 'traits', options, out, null);
    rows.push({ table: upsert.table, start, end: out.length });
  }
  return { rows };
}
