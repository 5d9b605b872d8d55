import { TABLES } from '../destinations/destination.ts';
import { IDENTITY_RELATIONS } from '../schema/segment-layout.ts';
import type { Dialect } from './warehouse.ts';

/**
 * The erasure targets, as data: each names the tables it applies to and how to find the person's rows there.
 * The statements read these parameter sets, never SQL text made from ids:
 *   `u` user ids · `a` anonymous ids · `ua` both · `e` the person's event ids (collected from the event tables
 *   before anything is deleted) · `n` the ids as JSON strings (`"user-1"`, for raw text) · `f` the failed events
 *   whose raw text names an id in any JSON spelling (`<load_id>#<line>`, decided by the engine: engine.ts).
 * Targets run in `phase` order: children and failed events (found through the event ids) before the event tables
 * that hold those ids, so a request killed midway and re-run still finds every row (the event ids are collected
 * again from what is left, and whatever was linked to the rows already gone is gone too).
 *
 * The identity graph's tables and views (`identity_edges`, `identity_map`, `identity_merges`, `persons`, the
 * stitched views) are no target: they are derived, and the engine erases the person's ids from them through the
 * graph's own rule (identity/erase.ts), which also recomputes the persons that remain in their components.
 */
export interface ErasureTarget {
  name: string;
  phase: number;
  applies(table: string, columns: ReadonlySet<string>): boolean;
  where(d: Dialect, columns: ReadonlySet<string>): string;
  /** Rows of this target carry an event id in `id` (collected into `e` before erasing). */
  eventIds?: boolean;
  /**
   * The column its tables are partitioned by day on, on BigQuery (destinations/bigquery/table-layout.ts): event
   * tables on `timestamp`, child tables and failed events on `loaded_at`. Its DELETEs are limited to the days
   * holding the person's rows.
   */
  partitionColumn?: string;
}

/** Tables the engine never erases from: bookkeeping without personal data, and its own ledger. */
export const KEPT_TABLES: ReadonlySet<string> = new Set([
  TABLES.loads,
  TABLES.schemaChanges,
  // Event ids (random message ids) and received_at only: kept so that a replay of an old copy still de-duplicates.
  TABLES.eventIds,
  TABLES.loadAttempts,
  'privacy_requests',
]);

const CHILD_ROOT = '_sluice_root_id';
const USER_TABLES: ReadonlySet<string> = new Set([TABLES.users, '_sluice_users_log']);

/** The person rule (`eventBelongs` in person.ts) in SQL, for the columns a table has. */
export function personWhere(d: Dialect, columns: ReadonlySet<string>): string {
  const c = d.column;
  const parts: string[] = [];
  if (columns.has('user_id')) parts.push(`${c('user_id')} IN ${d.set('u')}`);
  if (columns.has('previous_id')) parts.push(`${c('previous_id')} IN ${d.set('ua')}`);
  if (columns.has('anonymous_id')) {
    const noOtherUser = columns.has('user_id')
      ? ` AND (${c('user_id')} IS NULL OR ${c('user_id')} = '' OR ${c('user_id')} IN ${d.set('u')})`
      : '';
    parts.push(`(${c('anonymous_id')} IN ${d.set('a')}${noOtherUser})`);
  }
  return parts.length === 0 ? 'FALSE' : parts.join(' OR ');
}

export const ERASURE_TARGETS: readonly ErasureTarget[] = [
  {
    name: 'child rows (through their root event id)',
    phase: 1,
    partitionColumn: 'loaded_at',
    applies: (table, columns) => !KEPT_TABLES.has(table) && columns.has(CHILD_ROOT),
    where: (d) => `${d.column(CHILD_ROOT)} IN ${d.set('e')}`,
  },
  {
    name: 'failed events (event id, or an id in the raw text, in any JSON spelling)',
    phase: 1,
    partitionColumn: 'loaded_at',
    applies: (table) => table === TABLES.failedEvents,
    where: (d) =>
      `${d.column('event_id')} IN ${d.set('e')} OR CONCAT(${d.column('load_id')}, '#', CAST(${d.column('line')} AS STRING)) IN ${d.set('f')}`,
  },
  {
    name: 'event tables (user id, alias, or anonymous id without another user)',
    phase: 2,
    eventIds: true,
    partitionColumn: 'timestamp',
    applies: (table, columns) =>
      !KEPT_TABLES.has(table) &&
      !USER_TABLES.has(table) &&
      table !== TABLES.failedEvents &&
      !columns.has(CHILD_ROOT) &&
      (columns.has('user_id') || columns.has('anonymous_id') || columns.has('previous_id')),
    where: personWhere,
  },
  {
    name: 'users (the row keyed by the user id, and its log)',
    phase: 3,
    applies: (table, columns) => USER_TABLES.has(table) && columns.has('id'),
    where: (d) => `${d.column('id')} IN ${d.set('u')}`,
  },
];

/** The target a table falls under (the first that applies), if any. */
export function targetOf(table: string, columns: ReadonlySet<string>): ErasureTarget | undefined {
  if (IDENTITY_RELATIONS.has(table)) return undefined;
  return ERASURE_TARGETS.find((t) => t.applies(table, columns));
}
