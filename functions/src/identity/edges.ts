import type { CellValue, ColumnSchema, StagedRow } from '../destinations/destination.ts';
import type { IdentityRules } from '../schema/identity-rules.ts';
import { isoOfMicros, timestampMicros } from './store-support.ts';
import {
  type CompactEdge,
  EDGE_SOURCE_TABLES,
  type EdgeKind,
  IDENTITY_TABLES,
  type IdentityEdge,
  LOG_COLUMNS,
} from './tables.ts';

const idText = (v: CellValue | undefined): string | undefined => {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return undefined;
};

/** The event-table columns edge extraction reads (plus the rules' trait id types, from `identifies`). */
export const EDGE_SOURCE_COLUMNS = [
  'id',
  'timestamp',
  'received_at',
  'user_id',
  'anonymous_id',
  'previous_id',
  'loaded_at',
  '_sluice_load_id',
] as const;

/**
 * The one rule for which links an event makes (the loader and `npm run identity -- rebuild` both call it), from
 * its row in one of Segment's per-type tables (`EDGE_SOURCE_TABLES`; other tables make none):
 * - any event with both ids: anonymous_id <-> user_id (`identify` for identify calls, else `event`);
 * - alias: previous_id <-> user_id, twice (previous_id may be an anonymous id or an earlier user id, and the two
 *   are different id types): anonymous_id:previous <-> user_id and user_id:previous <-> user_id (`alias`); the
 *   map marks which of the two an analyst sees (`listed`, compute.ts), so `persons` shows each id once;
 * - identify with a configured trait id type (`email`): user_id (else anonymous_id) <-> email:value (`trait`).
 * Blocked values are NOT filtered here (the rules apply when the map is computed, so a rule change + rebuild
 * takes effect); missing and empty ids make no link.
 */
export function edgesOfRow(
  table: string,
  values: Readonly<Record<string, CellValue>>,
  rules: IdentityRules,
): IdentityEdge[] {
  if (!(EDGE_SOURCE_TABLES as readonly string[]).includes(table)) return [];
  const eventId = idText(values.id);
  const timestamp = idText(values.timestamp) ?? idText(values.received_at);
  if (eventId === undefined || timestamp === undefined) return [];
  const user = idText(values.user_id);
  const anonymous = idText(values.anonymous_id);
  const edges: IdentityEdge[] = [];
  const add = (aType: string, aValue: string, bType: string, bValue: string, kind: EdgeKind): void => {
    edges.push({
      aType,
      aValue,
      bType,
      bValue,
      kind,
      eventId,
      eventTable: table,
      ordinal: edges.length,
      timestamp,
      receivedAt: idText(values.received_at) ?? timestamp,
      loadId: idText(values._sluice_load_id) ?? '',
      loadedAt: idText(values.loaded_at) ?? timestamp,
    });
  };
  if (user !== undefined && anonymous !== undefined)
    add('anonymous_id', anonymous, 'user_id', user, table === 'identifies' ? 'identify' : 'event');
  if (table === 'aliases') {
    const previous = idText(values.previous_id);
    if (previous !== undefined && user !== undefined && previous !== user) {
      add('anonymous_id', previous, 'user_id', user, 'alias');
      add('user_id', previous, 'user_id', user, 'alias');
    }
  }
  if (table === 'identifies') {
    const owner =
      user !== undefined
        ? (['user_id', user] as const)
        : anonymous !== undefined
          ? (['anonymous_id', anonymous] as const)
          : undefined;
    if (owner) {
      for (const trait of rules.traitIdTypes) {
        const v = idText(values[trait]);
        if (v !== undefined) add(owner[0], owner[1], trait, v, 'trait');
      }
    }
  }
  return edges;
}

/** An edge as a row of `identity_edge_log`, in `LOG_COLUMNS` order. */
export function logCells(e: IdentityEdge): CellValue[] {
  return [
    e.aType,
    e.aValue,
    e.bType,
    e.bValue,
    e.kind,
    e.eventId,
    e.eventTable,
    e.ordinal,
    e.timestamp,
    e.receivedAt,
    e.loadedAt,
    e.loadId,
  ];
}

/** A compacted link as a row of `identity_edges`, in `EDGE_COLUMNS` order. */
export function compactCells(e: CompactEdge): CellValue[] {
  return [
    e.aType,
    e.aValue,
    e.bType,
    e.bValue,
    e.kind,
    e.eventId,
    e.eventTable,
    e.ordinal,
    e.firstSeen,
    e.lastSeen,
  ];
}

/** The compaction key: the two ids, alias links apart (they are not subject to the user-id limit). */
export const linkKey = (e: {
  aType: string;
  aValue: string;
  bType: string;
  bValue: string;
  kind: EdgeKind;
}) =>
  `${e.aType}\u0000${e.aValue}\u0000${e.bType}\u0000${e.bValue}\u0000${e.kind === 'alias' ? 'alias' : 'link'}`;

/**
 * The compaction rule of `identity_edge_log` into `identity_edges` (the rebuild's; each store's SQL states the same
 * rule, and the property tests compare the two): per link, the first event in the canonical order (time, event id,
 * ordinal) and the latest time.
 */
export function compactLog(edges: readonly IdentityEdge[]): CompactEdge[] {
  const out = new Map<string, { edge: CompactEdge; first: number; last: number }>();
  for (const e of edges) {
    const at = timestampMicros(e.timestamp);
    const key = linkKey(e);
    const known = out.get(key);
    const earlier =
      known === undefined ||
      at < known.first ||
      (at === known.first &&
        (e.eventId < known.edge.eventId ||
          (e.eventId === known.edge.eventId && e.ordinal < known.edge.ordinal)));
    const last = Math.max(at, known?.last ?? at);
    if (earlier) {
      out.set(key, {
        edge: {
          aType: e.aType,
          aValue: e.aValue,
          bType: e.bType,
          bValue: e.bValue,
          kind: e.kind,
          eventId: e.eventId,
          eventTable: e.eventTable,
          ordinal: e.ordinal,
          firstSeen: e.timestamp,
          lastSeen: e.timestamp,
        },
        first: at,
        last,
      });
    } else known.last = last;
  }
  return [...out.values()].map(({ edge, first, last }) => ({
    ...edge,
    firstSeen: isoOfMicros(first),
    lastSeen: isoOfMicros(last),
  }));
}

const LOG_COLUMN_NAMES = LOG_COLUMNS.map((c) => c.name);
const ALL_POSITIONS = LOG_COLUMN_NAMES.map((_c, i) => i);

/**
 * Collects the identity edges of a load's rows, as staged rows of `identity_edge_log` (same event id and line as the
 * event, so the destination's de-duplication drops a duplicate event's edges with its rows, and they commit in the
 * same atomic step as the events: a loaded file never lacks its edges).
 */
export class EdgeStager {
  readonly #rules: IdentityRules;
  readonly #loadedAt: string;
  readonly #loadId: string;
  #pending: StagedRow[] = [];
  #tableCreated: boolean;

  constructor(rules: IdentityRules, tableExists: boolean, loadedAt: string, loadId: string) {
    this.#rules = rules;
    this.#tableCreated = tableExists;
    this.#loadedAt = loadedAt;
    this.#loadId = loadId;
  }

  /** Stages the edges of one event-table row (a row of another table makes none). */
  add(table: string, row: StagedRow): void {
    if (!(EDGE_SOURCE_TABLES as readonly string[]).includes(table)) return;
    const values: Record<string, CellValue> = {};
    for (let k = 0; k < row.at.length; k++)
      values[row.columns[row.at[k] as number] as string] = row.cells[k] as CellValue;
    values.received_at ??= row.receivedAt;
    values.loaded_at = this.#loadedAt;
    values._sluice_load_id = this.#loadId;
    for (const edge of edgesOfRow(table, values, this.#rules)) {
      this.#pending.push({
        eventId: row.eventId,
        line: row.line,
        receivedAt: row.receivedAt,
        columns: LOG_COLUMN_NAMES,
        at: ALL_POSITIONS,
        cells: logCells(edge),
      });
    }
  }

  /** The `create_table` the first batch with edges needs (not a recorded schema change), once. */
  schemaChanges(): { kind: 'create_table'; table: string; columns: ColumnSchema[] }[] {
    if (this.#tableCreated || this.#pending.length === 0) return [];
    this.#tableCreated = true;
    return [{ kind: 'create_table', table: IDENTITY_TABLES.edgeLog, columns: [...LOG_COLUMNS] }];
  }

  /** Takes the staged edge rows. */
  take(): StagedRow[] {
    const out = this.#pending;
    this.#pending = [];
    return out;
  }
}
