import type { EventType } from '@sluice/sdk/protocol';
import type { ColumnSchema } from '../model/warehouse.ts';
import type { Rebase } from '../naming/name-cache.ts';
import { SEGMENT_COLUMNS } from './segment-columns.ts';
import { UPSERT_TABLES, type UpsertTable, upsertFrom } from './upsert-tables.ts';

/**
 * Segment's warehouse layout as data: which tables an event of each type writes, which members are envelope
 * columns, where the payload goes, the upsert row, the child-table link columns. Every normalizer path (the general
 * route, the fast path, the compiled shapes recorded from it) reads this one table; a layout rule changed here
 * changes all of them.
 */
export interface Layout {
  /** The Segment table every event of the type writes (`tracks`, `identifies`, ...). */
  table: string;
  /**
   * The member hoisted to top-level columns (`properties`, `traits`), or null when the type has none (`alias`).
   * A track's payload goes to its own table only (`ownTable`), every other type's to `table`.
   */
  payload: 'properties' | 'traits' | null;
  /**
   * A track also writes the event's own table (named from `event`): the `tracks` row's cells (envelope, `event`,
   * `event_text`) followed by the payload.
   */
  ownTable: boolean;
  /** How hoisted payload keys that would take a common column's name are renamed (kept with their container). */
  rebase: Rebase;
  /** The columns the type's tables are created with (Segment's common columns). */
  columns: readonly ColumnSchema[];
  /** The upsert table the type's events also write a row of when they carry its id (`users`, `accounts`). */
  upsert: UpsertTable | undefined;
}

/**
 * Envelope members with Segment's column names. A Map: event keys are user data, and a plain object would answer
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

/** Child-table link columns (dlt's layout: root, parent, own id, list index). */
export const CHILD_COLUMNS = {
  rootId: '_sluice_root_id',
  parentId: '_sluice_parent_id',
  id: '_sluice_id',
  listIndex: '_sluice_list_idx',
} as const;

/**
 * Column names that payload keys may not take when hoisted to top level, per message type: a key whose
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

function hoistRebase(reserved: readonly string[], container: 'properties' | 'traits'): Rebase {
  const set: ReadonlySet<string> = new Set(reserved);
  return (base) => (set.has(base) || base.startsWith('context_') ? container : undefined);
}

/** The rebase of every upsert table's row (`users`, `accounts`): traits hoisted beside `id` and `received_at`. */
export const UPSERT_REBASE: Rebase = hoistRebase(['id', 'received_at', 'loaded_at', 'context'], 'traits');

function layout(
  type: EventType,
  table: string,
  payload: Layout['payload'],
  reserved: readonly string[],
): Layout {
  return {
    table,
    payload,
    ownTable: type === 'track',
    rebase: hoistRebase([...COMMON_COLUMNS, ...reserved], payload ?? 'properties'),
    columns: SEGMENT_COLUMNS[type],
    upsert: upsertFrom(type),
  };
}

/** The layout of each message type. `Record<EventType, …>`: exhaustive by construction. */
export const SEGMENT_LAYOUT: Record<EventType, Layout> = {
  track: layout('track', 'tracks', 'properties', ['event', 'event_text']),
  identify: layout('identify', 'identifies', 'traits', []),
  page: layout('page', 'pages', 'properties', ['name', 'category']),
  screen: layout('screen', 'screens', 'properties', ['name', 'category']),
  group: layout('group', 'groups', 'traits', ['group_id']),
  alias: layout('alias', 'aliases', null, ['previous_id']),
};

/** The Segment table each message type lands in (`SEGMENT_LAYOUT[type].table`). */
export const ROOT_TABLES: Readonly<Record<EventType, string>> = {
  track: SEGMENT_LAYOUT.track.table,
  identify: SEGMENT_LAYOUT.identify.table,
  page: SEGMENT_LAYOUT.page.table,
  screen: SEGMENT_LAYOUT.screen.table,
  group: SEGMENT_LAYOUT.group.table,
  alias: SEGMENT_LAYOUT.alias.table,
};

/** The identity graph's tables and views (functions/src/identity; docs/warehouse-schema.md, "Identity graph"). */
export const IDENTITY_TABLES = {
  /** One row per link per event, appended by the loader in each file's commit (compacted into `edges`). */
  edgeLog: 'identity_edge_log',
  edges: 'identity_edges',
  map: 'identity_map',
  merges: 'identity_merges',
  persons: 'persons',
} as const;

/** Event tables that get a stitched view `<table>_stitched` (person_id, blended_user_id). */
export const STITCHED_TABLES = ['tracks', 'pages', 'screens', 'identifies', 'groups', 'aliases'] as const;

/** Every relation the identity graph keeps: its tables and its views. */
export const IDENTITY_RELATIONS: ReadonlySet<string> = new Set([
  ...Object.values(IDENTITY_TABLES),
  ...STITCHED_TABLES.map((t) => `${t}_stitched`),
]);

/**
 * Table names an event table may not take (`tracks` event -> `tracks_event`; `users`, `accounts` likewise; the
 * identity graph's tables and views too: a track named "Persons" must not write into the `persons` view).
 */
export const RESERVED_TABLES: ReadonlySet<string> = new Set([
  ...Object.values(ROOT_TABLES),
  ...UPSERT_TABLES.map((u) => u.table),
  ...IDENTITY_RELATIONS,
]);
