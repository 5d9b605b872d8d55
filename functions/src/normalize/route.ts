import type { EventType } from '@sluice/sdk/protocol';
import { isPlainObject } from '../model/plain-object.ts';
import { arraysFor } from '../schema/contracts.ts';
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
import { emptyShape, sameShape } from './compiled/shape.ts';
import { idText, upsertId } from './ids.ts';
import type { PendingArray, Row, Walk } from './walk.ts';

/**
 * Routes one valid event by the Segment layout (`SEGMENT_LAYOUT`), walked by `w` (either branch, see `Walk`): the
 * type's Segment table (`tracks` with common columns only, `identifies`, `pages`, ...), for `track` also the
 * event's own table with properties as top-level columns, child tables for arrays of objects in properties/traits
 * (and, by the table's array mode, their JSON column on the parent), and for an event of an upsert table's type
 * with its id an upsert row (`UPSERT_TABLES`: identify -> `users`, group -> `accounts`; arrays as JSON). A Segment
 * table's row names the columns the table is created with (`SEGMENT_COLUMNS`). False when the fast branch gives
 * up; the rows are then `w.finish()` (fast) or `w.drafts` (general: `tracks` is a prefix of the event table's
 * range, the same envelope fields).
 */
export function route(
  w: Walk,
  event: Record<string, unknown> & { type: EventType },
  eventId: string,
): boolean {
  const names = w.names;
  names.maintain();
  const layout = SEGMENT_LAYOUT[event.type];
  const root = w.row(layout.table, 'root', layout.columns);
  if (root === undefined) return false;
  w.rows.push(root);
  const top = w.rec;
  // The payload's table: a track's own table (its row: the tracks row's cells, then the payload), else the root.
  let table = layout.table;
  let own: Row | null = null;
  if (layout.ownTable) {
    const name = String(event.event);
    table = names.table(name, RESERVED_TABLES);
    const row = w.row(table, 'own', layout.columns);
    if (row === undefined) return false;
    // One stamp for both rows: a property meeting an envelope column is a collision in the event's own table.
    row.stamp = root.stamp;
    w.rows.push(row);
    own = row;
  }
  if (!envelope(w, event, root, own)) return false;
  if (own !== null) {
    if (!w.put(root, own, names.ref('event'), 'STRING', table, 'event')) return false;
    if (!w.put(root, own, names.ref('event_text'), 'STRING', String(event.event), 'event')) return false;
    w.end(root);
  }
  const mode = arraysFor(w.options.contracts, table);
  w.arrayJson = mode === 'both';
  const arrays: PendingArray[] | null = mode === 'json' ? null : [];
  const container = layout.payload;
  const payload = container === null ? undefined : event[container];
  if (isPlainObject(payload) && container !== null) {
    const shape = top === null ? null : w.recordContainer(top, container, emptyShape());
    const node = names.root('', layout.rebase);
    if (!w.walkAs(shape, payload, node, 1, own ?? root, null, arrays, container)) return false;
  } else if (top !== null && payload !== undefined && container !== null) {
    w.recordContainer(top, container, null);
  }
  w.end(own ?? root);
  if (arrays !== null && !childRows(w, table, eventId, eventId, arrays)) return false;
  // The fast branch gets no numeric id here: its envelope leaves those to the general branch.
  const upsert = layout.upsert;
  const upsertKey = upsert === undefined ? undefined : upsertId(upsert, event, w.exact);
  if (upsert === undefined || upsertKey === undefined) return true;
  const row = w.row(upsert.table, 'upsert');
  if (row === undefined) return false;
  w.rows.push(row);
  const id = names.ref(upsert.key);
  if (!w.put(row, null, id, 'STRING', upsertKey, upsert.idMember)) return false;
  const receivedAt = typeof event.receivedAt === 'string' ? rfc3339(event.receivedAt) : undefined;
  const received = names.ref('received_at');
  if (receivedAt !== undefined && !w.put(row, null, received, 'TIMESTAMP', receivedAt, 'receivedAt')) {
    return false;
  }
  const traits = upsert.traits(event);
  const shape = top === null || traits === undefined ? null : emptyShape();
  if (traits !== undefined) {
    const node = names.root('', UPSERT_REBASE);
    if (!w.walkAs(shape, traits, node, 1, row, null, null, 'traits')) return false;
  }
  w.end(row);
  if (top !== null) {
    w.upsert = {
      upsert,
      table: row.table,
      layout: row.layout,
      id: w.targetOf(row, id),
      receivedAt: receivedAt === undefined ? null : w.targetOf(row, received),
      traits: shape,
    };
  }
  return true;
}

/**
 * The top-level members of an event into rows `a` (and `b`, a track's own row): envelope members (`ENVELOPE`) as
 * Segment's columns (an empty id is absent; a numeric id is its decimal text: the general branch's), other keys
 * as columns of their own (`DROPPED` ones never), then `context` flattened.
 */
function envelope(w: Walk, event: Record<string, unknown>, a: Row, b: Row | null): boolean {
  const names = w.names;
  const top = names.root('');
  const rec = w.rec;
  let slot = -1;
  for (const key in event) {
    slot++;
    rec?.keys.push(key);
    if (DROPPED.has(key)) {
      rec?.members.push({ kind: 'skip' });
      continue;
    }
    const value = event[key];
    if (value === null || value === undefined) {
      rec?.members.push({ kind: 'null' });
      continue;
    }
    const column = ENVELOPE.get(key);
    if (column === undefined || typeof value === 'object') {
      if (!w.entry(key, value, top, slot, 0, a, b, null)) return false;
    } else if (typeof value !== 'string') {
      // A numeric id (text, which may need the exact parse) or another kind: the general branch's.
      if (w.fields === null) return false;
      const id = ID_KEYS.has(key) && (typeof value === 'number' || typeof value === 'bigint');
      const typed = id
        ? { type: 'STRING' as const, value: idText(value, w.exact) }
        : inferLeaf(value as boolean | number | bigint);
      w.put(a, b, names.ref(column), typed.type, typed.value, key);
    } else if (value === '' && ID_KEYS.has(key)) {
      // An empty id is absent, as null.
      rec?.members.push({ kind: 'absent' });
    } else {
      const ts = rfc3339(value);
      const ref = names.ref(column);
      const ok =
        ts === undefined ? w.put(a, b, ref, 'STRING', value, key) : w.put(a, b, ref, 'TIMESTAMP', ts, key);
      if (!ok) return false;
      w.recordLeaf(a, b, ref, true);
    }
  }
  const context = event.context;
  if (!isPlainObject(context)) {
    if (rec !== null && context !== undefined) w.recordContainer(rec, 'context', null);
    return true;
  }
  const shape = rec === null ? null : w.recordContainer(rec, 'context', emptyShape());
  return w.walkAs(shape, context, names.root('context'), 1, a, b, null, 'context');
}

/** Child rows of `arrays` under a parent row (dlt's layout: root id, parent id, own id, list index). */
function childRows(
  w: Walk,
  parentTable: string,
  parentId: string,
  rootId: string,
  arrays: PendingArray[],
): boolean {
  const names = w.names;
  const c = CHILD_COLUMNS;
  for (const array of arrays) {
    const table = names.childTable(parentTable, array.base);
    for (let i = 0; i < array.items.length; i++) {
      const row = w.row(table, 'item');
      if (row === undefined) return false;
      w.rows.push(row);
      const id = `${parentId}.${i}`;
      if (
        !w.put(row, null, names.ref(c.rootId), 'STRING', rootId, c.rootId) ||
        !w.put(row, null, names.ref(c.parentId), 'STRING', parentId, c.parentId) ||
        !w.put(row, null, names.ref(c.id), 'STRING', id, c.id) ||
        !w.put(row, null, names.ref(c.listIndex), 'INT64', i, c.listIndex)
      ) {
        return false;
      }
      const nested: PendingArray[] = [];
      const member = array.member;
      const shape = member === undefined ? null : emptyShape();
      const item = array.items[i] as Record<string, unknown>;
      // The general branch's source path of the item's fields (none on the fast one: no string per item).
      const source = w.fields === null ? '' : `${array.source}[${i}]`;
      if (!w.walkAs(shape, item, names.root(''), array.depth, row, null, nested, source)) return false;
      w.end(row);
      if (nested.length > 0 && !childRows(w, table, id, rootId, nested)) return false;
      if (member?.kind === 'children' && shape !== null) {
        // Every item must have the first one's shape for the array to be compiled.
        if (member.item === undefined) {
          member.table = table;
          member.layout = row.layout;
          member.item = shape;
        } else if (!sameShape(member.item, shape)) {
          w.unrecordable = true;
        }
      }
    }
  }
  return true;
}
