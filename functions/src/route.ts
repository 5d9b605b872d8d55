import type { EventType } from '@sluice/sdk/protocol';
import type { NameCache, NameNode, Rebase } from './naming/name-cache.ts';
import type { Field, RowDraft } from './normalize/field.ts';
import {
  type ChildArray,
  type FlattenOptions,
  flatten,
  flattenEntry,
  isPlainObject,
} from './normalize/flatten.ts';
import { inferLeaf, rfc3339 } from './schema/infer.ts';

/** The Segment table each message type lands in. `Record<EventType, …>`: exhaustive by construction. */
export const ROOT_TABLES: Record<EventType, string> = {
  track: 'tracks',
  identify: 'identifies',
  page: 'pages',
  screen: 'screens',
  group: 'groups',
  alias: 'aliases',
};

/** Table names an event table may not take (`tracks` event -> `tracks_event`). */
export const RESERVED_TABLES: ReadonlySet<string> = new Set([...Object.values(ROOT_TABLES), 'users']);

/** Envelope keys with Segment's column names. */
const ENVELOPE: Readonly<Record<string, string>> = {
  messageId: 'id',
  receivedAt: 'received_at',
  sentAt: 'sent_at',
  originalTimestamp: 'original_timestamp',
  timestamp: 'timestamp',
  userId: 'user_id',
  anonymousId: 'anonymous_id',
};

/** Keys never stored as columns (`writeKey` is a secret; `integrations` are delivery switches, as in Segment). */
const DROPPED = new Set(['type', 'properties', 'traits', 'integrations', 'writeKey', 'context', 'event']);

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
const HOISTING_RESERVED: Record<EventType | 'users', ReadonlySet<string>> = {
  track: new Set([...COMMON_COLUMNS, 'event', 'event_text']),
  identify: new Set(COMMON_COLUMNS),
  page: new Set([...COMMON_COLUMNS, 'name', 'category']),
  screen: new Set([...COMMON_COLUMNS, 'name', 'category']),
  group: new Set([...COMMON_COLUMNS, 'group_id']),
  alias: new Set([...COMMON_COLUMNS, 'previous_id']),
  users: new Set(['id', 'received_at', 'loaded_at', 'context']),
};

/** Child-table bookkeeping columns. */
export const CHILD_COLUMNS = {
  rootId: '_sluice_root_id',
  parentId: '_sluice_parent_id',
  id: '_sluice_id',
  listIndex: '_sluice_list_idx',
} as const;

export interface RoutedEvent {
  rows: RowDraft[];
}

export interface RouteOptions extends FlattenOptions {}

function hoistRebase(reserved: ReadonlySet<string>, container: 'properties' | 'traits'): Rebase {
  return (base) => (reserved.has(base) || base.startsWith('context_') ? container : undefined);
}

const REBASE = {
  track: hoistRebase(HOISTING_RESERVED.track, 'properties'),
  identify: hoistRebase(HOISTING_RESERVED.identify, 'traits'),
  page: hoistRebase(HOISTING_RESERVED.page, 'properties'),
  screen: hoistRebase(HOISTING_RESERVED.screen, 'properties'),
  group: hoistRebase(HOISTING_RESERVED.group, 'traits'),
  alias: hoistRebase(HOISTING_RESERVED.alias, 'properties'),
  users: hoistRebase(HOISTING_RESERVED.users, 'traits'),
} satisfies Record<EventType | 'users', Rebase>;

/** A constant field (envelope and bookkeeping columns). */
function constField(
  names: NameCache,
  column: string,
  type: Field['type'],
  value: Field['value'],
  key: string,
): Field {
  return { column, ref: names.ref(column), type, value, parent: '', key };
}

/** A top-level container (`properties`, `traits`, `context`) at depth 1, when it is an object (else nothing). */
function flattenContainer(
  value: unknown,
  node: NameNode,
  source: string,
  options: RouteOptions,
  out: Field[],
  children: ChildArray[] | null,
): void {
  if (isPlainObject(value)) flatten(value, node, source, 1, options, out, children);
}

function envelopeFields(event: Record<string, unknown>, options: RouteOptions): Field[] {
  const out: Field[] = [];
  const names = options.names;
  const top = names.root('');
  for (const key in event) {
    if (DROPPED.has(key)) continue;
    const value = event[key];
    if (value === null || value === undefined) continue;
    const column = ENVELOPE[key];
    if (column !== undefined && typeof value !== 'object') {
      const typed = inferLeaf(value as boolean | number | bigint | string);
      out.push(constField(names, column, typed.type, typed.value, key));
      continue;
    }
    flattenEntry(key, value, top, '', 0, options, out, null);
  }
  flattenContainer(event.context, names.root('context'), 'context', options, out, null);
  return out;
}

function childRows(
  parentTable: string,
  parentId: string,
  rootId: string,
  arrays: ChildArray[],
  options: RouteOptions,
  rows: RowDraft[],
): void {
  for (const array of arrays) {
    const table = options.names.childTable(parentTable, array.base);
    for (let i = 0; i < array.items.length; i++) {
      const id = `${parentId}.${i}`;
      const names = options.names;
      const fields: Field[] = [
        constField(names, CHILD_COLUMNS.rootId, 'STRING', rootId, CHILD_COLUMNS.rootId),
        constField(names, CHILD_COLUMNS.parentId, 'STRING', parentId, CHILD_COLUMNS.parentId),
        constField(names, CHILD_COLUMNS.id, 'STRING', id, CHILD_COLUMNS.id),
        constField(names, CHILD_COLUMNS.listIndex, 'INT64', i, CHILD_COLUMNS.listIndex),
      ];
      const nested: ChildArray[] = [];
      const item = array.items[i] as Record<string, unknown>;
      flatten(item, names.root(''), `${array.source}[${i}]`, array.depth, options, fields, nested);
      rows.push({ table, fields });
      if (nested.length > 0) childRows(table, id, rootId, nested, options, rows);
    }
  }
}

/**
 * Routes one valid event to its rows: the type's Segment table (`tracks` with common columns only, `identifies`,
 * `pages`, ...), for `track` also the event's own table with properties as top-level columns, child tables for
 * arrays of objects in properties/traits, and for `identify` with a userId a `users` row (traits; arrays as JSON).
 */
export function routeEvent(
  event: Record<string, unknown> & { type: EventType },
  eventId: string,
  options: RouteOptions,
): RoutedEvent {
  const rows: RowDraft[] = [];
  options.names.maintain();
  const envelope = envelopeFields(event, options);
  const root = ROOT_TABLES[event.type];
  if (event.type === 'track') {
    const name = String(event.event);
    const table = options.names.table(name, RESERVED_TABLES);
    const eventFields: Field[] = [
      constField(options.names, 'event', 'STRING', table, 'event'),
      constField(options.names, 'event_text', 'STRING', name, 'event'),
    ];
    const fields = envelope.concat(eventFields);
    rows.push({ table: root, fields: fields.slice() });
    const arrays: ChildArray[] = [];
    flattenContainer(
      event.properties,
      options.names.root('', REBASE.track),
      'properties',
      options,
      fields,
      arrays,
    );
    rows.push({ table, fields });
    childRows(table, eventId, eventId, arrays, options, rows);
    return { rows };
  }
  const container = event.type === 'identify' || event.type === 'group' ? 'traits' : 'properties';
  const fields = envelope;
  const arrays: ChildArray[] = [];
  const payload = event.type === 'alias' ? undefined : event[container];
  flattenContainer(payload, options.names.root('', REBASE[event.type]), container, options, fields, arrays);
  rows.push({ table: root, fields });
  childRows(root, eventId, eventId, arrays, options, rows);
  if (event.type === 'identify' && typeof event.userId === 'string' && event.userId !== '') {
    const userFields: Field[] = [constField(options.names, 'id', 'STRING', event.userId, 'userId')];
    const receivedAt = typeof event.receivedAt === 'string' ? rfc3339(event.receivedAt) : undefined;
    if (receivedAt !== undefined) {
      userFields.push(constField(options.names, 'received_at', 'TIMESTAMP', receivedAt, 'receivedAt'));
    }
    flattenContainer(event.traits, options.names.root('', REBASE.users), 'traits', options, userFields, null);
    rows.push({ table: 'users', fields: userFields });
  }
  return { rows };
}
