import type { EventType } from '@sluice/sdk/protocol';
import { SEGMENT_LAYOUT } from '../../schema/segment-layout.ts';
import { route } from '../route.ts';
import { Walk, type WalkContext } from '../walk.ts';
import { type EventShape, emptyShape } from './shape.ts';

/**
 * Runs the walk's fast branch on an event while recording its shape: every object's keys in order, where each value went
 * and the column types that took it (an identify's traits twice: into `identifies` and into its `users` row; a
 * group's into `groups` and `accounts`).
 * Undefined when the fast path does not take the event or the shape has something a compiled shape does not
 * cover (array items of differing shapes).
 */
export function recordShape(
  event: Record<string, unknown> & { type: EventType },
  eventId: string,
  ctx: WalkContext,
): EventShape | undefined {
  const w = new Walk(ctx);
  const top = emptyShape();
  w.rec = top;
  const ok = route(w, event, eventId);
  const [root, own] = w.rows;
  if (!ok || w.unrecordable || root === undefined) return undefined;
  if (!SEGMENT_LAYOUT[event.type].ownTable) {
    return { type: event.type, top, root: root.layout, rootTable: root.table, upsert: w.upsert };
  }
  if (own === undefined) return undefined;
  return {
    type: event.type,
    top,
    root: root.layout,
    rootTable: root.table,
    own: { layout: own.layout, table: own.table, name: String(event.event) },
  };
}
