import type { EventType } from '@sluice/sdk/protocol';
import { SEGMENT_LAYOUT } from '../../schema/segment-layout.ts';
import { normalizeWith, recordingWalk } from '../fast-path.ts';
import type { FastContext } from '../fast-walk.ts';
import type { EventShape } from './shape.ts';

/**
 * Runs the fast path on an event while recording its shape: every object's keys in order, where each value went
 * and the column types that took it (an identify's traits twice: into `identifies` and into its `users` row; a
 * group's into `groups` and `accounts`).
 * Undefined when the fast path does not take the event or the shape has something a compiled shape does not
 * cover (array items of differing shapes).
 */
export function recordShape(
  event: Record<string, unknown> & { type: EventType },
  eventId: string,
  ctx: FastContext,
): EventShape | undefined {
  const w = recordingWalk(ctx);
  const top = w.rec;
  const rows = normalizeWith(w, event, eventId);
  const [root, own] = w.rows;
  if (rows === undefined || w.unrecordable || root === undefined || top === null) return undefined;
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
