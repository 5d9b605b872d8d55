import type { EventType } from '@sluice/sdk/protocol';
import type { LogicalType } from '../../model/warehouse.ts';
import type { ColumnLayout } from '../../schema/column-layout.ts';
import type { UpsertTable } from '../../schema/upsert-tables.ts';

/**
 * Which row of an event a value goes to: the type's table, a track's own table, a child-table item, the upsert
 * table's row (`users`, `accounts`).
 */
export type RowRole = 'root' | 'own' | 'item' | 'upsert';

/** Where a recorded leaf's value went: the row, the column's position and its type when recorded. */
export interface ShapeTarget {
  role: RowRole;
  pos: number;
  type: LogicalType;
}

/**
 * One member of a recorded object, by position: ignored (`skip`), null when recorded (must stay null), a leaf, an
 * array kept as JSON (of scalars; `objects`: where an array of objects is JSON too, not child rows), a nested
 * object, an array that was empty (must stay empty or null), an empty id (`absent`: must stay "" or null), or
 * an array of objects (child rows, and its JSON column by the table's array mode).
 */
export type ShapeMember =
  | { kind: 'skip' }
  | { kind: 'null' }
  | { kind: 'leaf'; a: ShapeTarget; b: ShapeTarget | null; envelope: boolean }
  | { kind: 'json'; a: ShapeTarget; b: ShapeTarget | null; objects: boolean }
  | { kind: 'object'; shape: ObjectShape }
  | { kind: 'empty' }
  | { kind: 'absent' }
  | {
      kind: 'children';
      table: string;
      layout: ColumnLayout | undefined;
      item: ObjectShape | undefined;
      /** Where the array's JSON text went on the parent row (array mode `both`), or null. */
      json: ShapeTarget | null;
    };

/** The recorded shape of one object: its keys in order and what each member was. */
export interface ObjectShape {
  keys: string[];
  members: ShapeMember[];
}

export function emptyShape(): ObjectShape {
  return { keys: [], members: [] };
}

function sameTarget(x: ShapeTarget | null, y: ShapeTarget | null): boolean {
  return x === y || (x !== null && y !== null && x.role === y.role && x.pos === y.pos && x.type === y.type);
}

/** Whether two recorded shapes are the same (keys, member kinds, targets). */
export function sameShape(x: ObjectShape, y: ObjectShape): boolean {
  if (x.keys.length !== y.keys.length) return false;
  for (let i = 0; i < x.keys.length; i++) {
    if (x.keys[i] !== y.keys[i]) return false;
    const m = x.members[i] as ShapeMember;
    const n = y.members[i] as ShapeMember;
    if (m.kind !== n.kind) return false;
    if (m.kind === 'leaf' && n.kind === 'leaf') {
      if (m.envelope !== n.envelope || !sameTarget(m.a, n.a) || !sameTarget(m.b, n.b)) return false;
    } else if (m.kind === 'json' && n.kind === 'json') {
      if (m.objects !== n.objects || !sameTarget(m.a, n.a) || !sameTarget(m.b, n.b)) return false;
    } else if (m.kind === 'object' && n.kind === 'object') {
      if (!sameShape(m.shape, n.shape)) return false;
    } else if (m.kind === 'children' && n.kind === 'children') {
      if (m.table !== n.table || m.item === undefined || n.item === undefined || !sameShape(m.item, n.item))
        return false;
      if (!sameTarget(m.json, n.json)) return false;
    }
  }
  return true;
}

/** An event's recorded shape, with its tables: what `compile-shape.ts` compiles. */
export interface EventShape {
  type: EventType;
  top: ObjectShape;
  /** The type's table (`tracks`, `pages`...). */
  root: ColumnLayout;
  rootTable: string;
  /** A track's own table, its name and `event_text`. */
  own?: { layout: ColumnLayout; table: string; name: string } | undefined;
  /**
   * The upsert row of an event of an upsert table's type (identify: `users`, group: `accounts`; null: the event
   * had none, its id was absent).
   */
  upsert?: UpsertShape | null;
}

/** An upsert row as recorded: its table's rule, layout, where `id` and `received_at` went, the traits' shape. */
export interface UpsertShape {
  upsert: UpsertTable;
  table: string;
  layout: ColumnLayout;
  id: ShapeTarget;
  /** Null when the event had no valid `receivedAt` (no cell). */
  receivedAt: ShapeTarget | null;
  /** The traits as walked into the row (`UpsertTable.traits`; null: they were not an object). */
  traits: ObjectShape | null;
}
