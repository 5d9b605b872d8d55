import type { ColumnSchema } from '../model/warehouse.ts';

// The names live in the schema layer, which reserves them from event tables.
export { IDENTITY_RELATIONS, IDENTITY_TABLES, STITCHED_TABLES } from '../schema/segment-layout.ts';

/** Segment's per-type event tables: each event is in exactly one of them, so edges come from these only. */
export const EDGE_SOURCE_TABLES = ['identifies', 'aliases', 'tracks', 'pages', 'screens', 'groups'] as const;

/** One link between two ids, made by one event (`ordinal`: its place among that event's links): a log row. */
export interface IdentityEdge {
  aType: string;
  aValue: string;
  bType: string;
  bValue: string;
  /** `identify` (identify call), `alias` (alias call: explicit, not subject to the user-id limit), `event`, `trait`. */
  kind: EdgeKind;
  eventId: string;
  eventTable: string;
  ordinal: number;
  /** The event's timestamp (RFC 3339), else its received_at: the canonical order's first key. */
  timestamp: string;
  receivedAt: string;
  loadId: string;
  loadedAt: string;
}

export const EDGE_KINDS = ['identify', 'alias', 'event', 'trait'] as const;
export type EdgeKind = (typeof EDGE_KINDS)[number];

/**
 * `identity_edge_log`: one row per link per event, appended by the loader in the file's own commit (so a loaded
 * file never lacks its links). Its event time is `event_at`, not `timestamp`, so that BigQuery partitions it on
 * `loaded_at` (table-layout.ts), the column the scheduled update's watermark filters on.
 */
/** The two ids of a link, as every identity table that records one names them. */
const LINK_COLUMNS: readonly ColumnSchema[] = [
  { name: 'a_type', type: 'STRING' },
  { name: 'a_value', type: 'STRING' },
  { name: 'b_type', type: 'STRING' },
  { name: 'b_value', type: 'STRING' },
];

export const LOG_COLUMNS: readonly ColumnSchema[] = [
  ...LINK_COLUMNS,
  { name: 'kind', type: 'STRING' },
  { name: 'event_id', type: 'STRING' },
  { name: 'event_table', type: 'STRING' },
  { name: 'ordinal', type: 'INT64' },
  { name: 'event_at', type: 'TIMESTAMP' },
  { name: 'received_at', type: 'TIMESTAMP' },
  { name: 'loaded_at', type: 'TIMESTAMP' },
  { name: '_sluice_load_id', type: 'STRING' },
];

/**
 * `identity_edges`: the log compacted, one row per link - (a type, a value) <-> (b type, b value), alias links
 * apart from the others (an alias is not subject to the user-id limit, so it is a different link) - with the
 * first event that made it in the canonical order (`event_id`, `event_table`, `ordinal`, `kind`, `first_seen`)
 * and the last time an event made it (`last_seen`). A later event making the same link can change no person
 * (two ids already joined stay joined; a flagged link stays flagged: persons only grow), so the map over the
 * compacted edges equals the map over the log, and a flagged link is recorded once.
 */
export const EDGE_COLUMNS: readonly ColumnSchema[] = [
  ...LINK_COLUMNS,
  { name: 'kind', type: 'STRING' },
  { name: 'event_id', type: 'STRING' },
  { name: 'event_table', type: 'STRING' },
  { name: 'ordinal', type: 'INT64' },
  { name: 'first_seen', type: 'TIMESTAMP' },
  { name: 'last_seen', type: 'TIMESTAMP' },
];

/** A compacted link (a row of `identity_edges`): the first event's fields, and the last time it was made. */
export interface CompactEdge {
  aType: string;
  aValue: string;
  bType: string;
  bValue: string;
  kind: EdgeKind;
  eventId: string;
  eventTable: string;
  ordinal: number;
  firstSeen: string;
  lastSeen: string;
}

/** One id's row of `identity_map`. */
export interface MapRow {
  idType: string;
  idValue: string;
  personId: string;
  /** The person's user id (its anchor's, when the anchor is a user id): the `blended_user_id` of its events. */
  userId: string | null;
  /** The raw connected component (every edge, flagged ones included): the unit of recomputation. */
  componentId: string;
  /** The first and last event that linked the id (an event carrying it alongside another id), not every event of it. */
  firstSeen: string;
  lastSeen: string;
  /**
   * Whether `persons` lists this row: an alias's previous id is linked both as an anonymous id and as a user id
   * (Segment allows either); only the type an event gave it (else the anonymous id) is listed, so each id shows once.
   */
  listed: boolean;
}

export const MAP_COLUMNS: readonly ColumnSchema[] = [
  { name: 'id_type', type: 'STRING' },
  { name: 'id_value', type: 'STRING' },
  { name: 'person_id', type: 'STRING' },
  { name: 'user_id', type: 'STRING' },
  { name: 'component_id', type: 'STRING' },
  { name: 'first_seen', type: 'TIMESTAMP' },
  { name: 'last_seen', type: 'TIMESTAMP' },
  { name: 'listed', type: 'BOOL' },
];

export const MERGE_ACTIONS = ['merge', 'rejected_user_limit'] as const;
export type MergeAction = (typeof MERGE_ACTIONS)[number];

/**
 * One row of `identity_merges`: two persons joined by an edge (`merge`: `merged_person_id` now belongs to
 * `person_id`), or an edge flagged and not applied (`rejected_user_limit`: the two persons would hold too many user
 * ids, e.g. a shared device).
 */
export interface MergeRow {
  componentId: string;
  /** Order of the record within its component (canonical edge order). */
  seq: number;
  action: MergeAction;
  personId: string;
  mergedPersonId: string;
  aType: string;
  aValue: string;
  bType: string;
  bValue: string;
  eventId: string;
  timestamp: string;
}

export const MERGE_COLUMNS: readonly ColumnSchema[] = [
  { name: 'component_id', type: 'STRING' },
  { name: 'seq', type: 'INT64' },
  { name: 'action', type: 'STRING' },
  { name: 'person_id', type: 'STRING' },
  { name: 'merged_person_id', type: 'STRING' },
  ...LINK_COLUMNS,
  { name: 'event_id', type: 'STRING' },
  { name: 'timestamp', type: 'TIMESTAMP' },
];

/** An id: its type (`user_id`, `anonymous_id`, or a trait id type) and value. */
export interface IdRef {
  type: string;
  value: string;
}

export const nodeKey = (type: string, value: string): string => `${type}\u0000${value}`;
