import type { EventType } from '@sluice/sdk/protocol';
import { isPlainObject } from '../model/plain-object.ts';

/**
 * The upsert tables, as data: Segment keeps one row per user (`users`, from identifies) and one per group
 * (`accounts`, from group calls) with the latest traits. Every normalizer path (general, fast, compiled shapes)
 * makes the row of an event of type `from` from this list, and both destinations upsert every table listed here
 * on `key` at commit (DuckDB: a MERGE per table; BigQuery: an append-only log per table and a periodic MERGE).
 * A new upsert table is one more entry here (and its docs), no new code path.
 */
export interface UpsertTable {
  /** The table (`users`, `accounts`). */
  table: string;
  /** The upsert key column: holds the event's `idMember` as text. */
  key: 'id';
  /** The message type whose events make the rows. */
  from: EventType;
  /** The event member the key comes from (an envelope id, see `ID_KEYS` in segment-layout.ts). */
  idMember: 'userId' | 'groupId';
  /** The traits the row takes (flattened to top-level columns); undefined when there is no traits object. */
  traits: (event: Record<string, unknown>) => Record<string, unknown> | undefined;
}

/**
 * The traits an identify writes to `users`: `traits` merged over `context.traits` (RudderStack's SDKs send
 * identify traits in `context.traits`, and its own warehouse merges them the same way), top-level keys winning;
 * undefined when neither is an object.
 */
export function usersTraits(event: Record<string, unknown>): Record<string, unknown> | undefined {
  const traits = event.traits;
  const context = event.context;
  const fromContext = isPlainObject(context) ? context.traits : undefined;
  if (!isPlainObject(fromContext)) return isPlainObject(traits) ? traits : undefined;
  if (!isPlainObject(traits)) return fromContext;
  return { ...fromContext, ...traits };
}

/**
 * The traits a group call writes to `accounts`: its own `traits` only. A group's `context.traits` are the
 * calling user's traits, not the group's, so they are not merged (unlike identify's).
 */
export function accountsTraits(event: Record<string, unknown>): Record<string, unknown> | undefined {
  return isPlainObject(event.traits) ? event.traits : undefined;
}

export const UPSERT_TABLES: readonly UpsertTable[] = [
  { table: 'users', key: 'id', from: 'identify', idMember: 'userId', traits: usersTraits },
  { table: 'accounts', key: 'id', from: 'group', idMember: 'groupId', traits: accountsTraits },
];

const BY_TYPE: ReadonlyMap<EventType, UpsertTable> = new Map(UPSERT_TABLES.map((u) => [u.from, u]));
const BY_TABLE: ReadonlyMap<string, UpsertTable> = new Map(UPSERT_TABLES.map((u) => [u.table, u]));

/** The upsert table an event of `type` makes a row of, if any. */
export function upsertFrom(type: EventType): UpsertTable | undefined {
  return BY_TYPE.get(type);
}

/** The upsert table named `table`, if it is one. */
export function upsertTableNamed(table: string): UpsertTable | undefined {
  return BY_TABLE.get(table);
}
