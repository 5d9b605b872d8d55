import type { EventType } from '@sluice/sdk/protocol';
import { isPlainObject } from '../model/plain-object.ts';
import { arraysFor } from '../schema/contracts.ts';
import type { ResolvedRow } from '../schema/evolve.ts';
import { rfc3339 } from '../schema/infer.ts';
import { RESERVED_TABLES, SEGMENT_LAYOUT, UPSERT_REBASE } from '../schema/segment-layout.ts';
import { emptyShape } from './compiled/shape.ts';
import { type FastContext, type PendingArray, type Row, Walk } from './fast-walk.ts';
import { upsertId } from './ids.ts';

/**
 * The common case of normalization in one pass. Once a kind of event has been loaded, the next ones need no schema
 * change: every column exists with a type that takes the value. This routes (as `routeEvent`) and resolves (as
 * `resolveEvent`) at once, writing each value straight into its row, with no per-value object and no second walk.
 *
 * It gives up (returns undefined, having changed nothing but harmless layout positions) at the first thing
 * outside that case: a missing table or column, a type that needs a variant or a widening, two keys of a row
 * meeting in one column, a reserved column, an integer beyond 2^53, an object past the depth limit, a non-string
 * envelope value. The caller then runs the general path, which yields the same rows for every event this path
 * accepts (property-tested in fast-path.test.ts and differential.test.ts). The walk itself is `fast-walk.ts`; the
 * rules it applies are the Segment layout (`SEGMENT_LAYOUT`) and the coercion table (`COERCION`).
 */
export function fastNormalize(
  event: Record<string, unknown> & { type: EventType },
  eventId: string,
  ctx: FastContext,
): ResolvedRow[] | undefined {
  return normalizeWith(new Walk(ctx), event, eventId);
}

/** A fast-path walk that also records the event's shape (see `compiled/record-shape.ts`). */
export function recordingWalk(ctx: FastContext): Walk {
  const w = new Walk(ctx);
  w.rec = emptyShape();
  return w;
}

/** The fast path's routing of one event by the Segment layout (`SEGMENT_LAYOUT`), walked by `w`. */
export function normalizeWith(
  w: Walk,
  event: Record<string, unknown> & { type: EventType },
  eventId: string,
): ResolvedRow[] | undefined {
  const names = w.names;
  names.maintain();
  const layout = SEGMENT_LAYOUT[event.type];
  const root = w.row(layout.table, 'root');
  if (root === undefined) return undefined;
  w.rows.push(root);
  const top = w.rec;
  // The payload's table: a track's own table (its row: the tracks row's cells, then the payload), else the root.
  let table = layout.table;
  let own: Row | null = null;
  if (layout.ownTable) {
    const name = String(event.event);
    table = names.table(name, RESERVED_TABLES);
    const row = w.row(table, 'own');
    if (row === undefined) return undefined;
    // One stamp for both rows: a property meeting an envelope column is a collision in the event's own table.
    row.stamp = root.stamp;
    w.rows.push(row);
    own = row;
  }
  if (!w.envelope(event, root, own)) return undefined;
  if (own !== null) {
    if (!w.put(root, own, names.ref('event'), 'STRING', table)) return undefined;
    if (!w.put(root, own, names.ref('event_text'), 'STRING', String(event.event))) return undefined;
  }
  const mode = arraysFor(w.options.contracts, table);
  w.arrayJson = mode === 'both';
  const arrays: PendingArray[] | null = mode === 'json' ? null : [];
  const container = layout.payload;
  const payload = container === null ? undefined : event[container];
  if (isPlainObject(payload) && container !== null) {
    const shape = top === null ? null : w.recordContainer(top, container, emptyShape());
    if (!w.walkAs(shape, payload, names.root('', layout.rebase), 1, own ?? root, null, arrays))
      return undefined;
  } else if (top !== null && payload !== undefined && container !== null) {
    w.recordContainer(top, container, null);
  }
  if (arrays !== null && !w.children(table, eventId, eventId, arrays)) return undefined;
  // A numeric id never gets here: the envelope leaves non-string ids to the general path.
  const upsert = layout.upsert;
  const upsertKey = upsert === undefined ? undefined : upsertId(upsert, event, false);
  if (upsert !== undefined && upsertKey !== undefined) {
    const row = w.row(upsert.table, 'upsert');
    if (row === undefined) return undefined;
    w.rows.push(row);
    const id = names.ref(upsert.key);
    if (!w.put(row, null, id, 'STRING', upsertKey)) return undefined;
    const receivedAt = typeof event.receivedAt === 'string' ? rfc3339(event.receivedAt) : undefined;
    const received = names.ref('received_at');
    if (receivedAt !== undefined && !w.put(row, null, received, 'TIMESTAMP', receivedAt)) {
      return undefined;
    }
    const traits = upsert.traits(event);
    const shape = top === null || traits === undefined ? null : emptyShape();
    if (traits !== undefined && !w.walkAs(shape, traits, names.root('', UPSERT_REBASE), 1, row, null, null))
      return undefined;
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
  }
  return w.finish();
}
