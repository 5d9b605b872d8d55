import type { EventType } from '@sluice/sdk/protocol';
import type { Field, RowDraft } from './normalize/field.ts';
import { type ChildArray, type FlattenOptions, flatten } from './normalize/flatten.ts';
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

function hoistRebase(
  reserved: ReadonlySet<string>,
  container: 'properties' | 'traits',
): (base: string) => string | undefined {
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
} satisfies Record<EventType | 'users', (base: string) => string | undefined>;

function envelopeFields(event: Record<string, unknown>, options: RouteOptions): Field[] {
  const out: Field[] = [];
  for (const key in event) {
    if (DROPPED.has(key)) continue;
    const value = event[key];
    if (value === null || value === undefined) continue;
    const column = ENVELOPE[key];
    if (column !== undefined && typeof value !== 'object') {
      const typed = inferLeaf(value as boolean | number | bigint | string);
      out.push({ column, type: typed.type, value: typed.value, parent: '', key });
      continue;
    }
    flatten({ [key]: value }, '', '', 0, options, out, null);
  }
  const context = event.context;
  if (typeof context === 'object' && context !== null && !Array.isArray(context)) {
    flatten(context as Record<string, unknown>, 'context', 'context', 1, options, out, null);
  }
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
      const fields: Field[] = [
        {
          column: CHILD_COLUMNS.rootId,
          type: 'STRING',
          value: rootId,
          parent: '',
          key: CHILD_COLUMNS.rootId,
        },
        {
          column: CHILD_COLUMNS.parentId,
          type: 'STRING',
          value: parentId,
          parent: '',
          key: CHILD_COLUMNS.parentId,
        },
        { column: CHILD_COLUMNS.id, type: 'STRING', value: id, parent: '', key: CHILD_COLUMNS.id },
        {
          column: CHILD_COLUMNS.listIndex,
          type: 'INT64',
          value: i,
          parent: '',
          key: CHILD_COLUMNS.listIndex,
        },
      ];
      const nested: ChildArray[] = [];
      const item = array.items[i] as Record<string, unknown>;
      flatten(item, '', `${array.source}[${i}]`, array.depth, options, fields, nested);
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
  const envelope = envelopeFields(event, options);
  const root = ROOT_TABLES[event.type];
  if (event.type === 'track') {
    const name = String(event.event);
    const table = options.names.table(name, RESERVED_TABLES);
    const eventFields: Field[] = [
      { column: 'event', type: 'STRING', value: table, parent: '', key: 'event' },
      { column: 'event_text', type: 'STRING', value: name, parent: '', key: 'event' },
    ];
    rows.push({ table: root, fields: [...envelope, ...eventFields] });
    const fields = [...envelope, ...eventFields];
    const arrays: ChildArray[] = [];
    const properties = event.properties;
    if (typeof properties === 'object' && properties !== null && !Array.isArray(properties)) {
      flatten(
        properties as Record<string, unknown>,
        '',
        'properties',
        1,
        options,
        fields,
        arrays,
        REBASE.track,
      );
    }
    rows.push({ table, fields });
    childRows(table, eventId, eventId, arrays, options, rows);
    return { rows };
  }
  const container = event.type === 'identify' || event.type === 'group' ? 'traits' : 'properties';
  const fields = envelope;
  const arrays: ChildArray[] = [];
  const payload = event.type === 'alias' ? undefined : event[container];
  if (typeof payload === 'object' && payload !== null && !Array.isArray(payload)) {
    flatten(
      payload as Record<string, unknown>,
      '',
      container,
      1,
      options,
      fields,
      arrays,
      REBASE[event.type],
    );
  }
  rows.push({ table: root, fields });
  childRows(root, eventId, eventId, arrays, options, rows);
  if (event.type === 'identify' && typeof event.userId === 'string' && event.userId !== '') {
    const userFields: Field[] = [
      { column: 'id', type: 'STRING', value: event.userId, parent: '', key: 'userId' },
    ];
    const receivedAt = typeof event.receivedAt === 'string' ? rfc3339(event.receivedAt) : undefined;
    if (receivedAt !== undefined) {
      userFields.push({
        column: 'received_at',
        type: 'TIMESTAMP',
        value: receivedAt,
        parent: '',
        key: 'receivedAt',
      });
    }
    const traits = event.traits;
    if (typeof traits === 'object' && traits !== null && !Array.isArray(traits)) {
      flatten(traits as Record<string, unknown>, '', 'traits', 1, options, userFields, null, REBASE.users);
    }
    rows.push({ table: 'users', fields: userFields });
  }
  return { rows };
}
