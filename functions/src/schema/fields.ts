import type { CellValue, ColumnSchema, LogicalType } from '../model/warehouse.ts';
import type { ColumnRef } from '../naming/name-cache.ts';

/**
 * The column values of one event's rows before schema resolution, as parallel arrays (field `i` is
 * `refs[i]`, `types[i]`, `values[i]`, ...). One buffer is reused event after event: routing an event allocates
 * no object per value, which is most of what a typical event costs beyond `JSON.parse`.
 */
export class Fields {
  /** Interned column names (`ref.name`); the same-row collision check stamps them. */
  readonly refs: ColumnRef[] = [];
  readonly types: LogicalType[] = [];
  readonly values: CellValue[] = [];
  /** Dotted path of the raw key's parent (`properties`), and the raw key (`Plan`): see `source`. */
  readonly parents: string[] = [];
  readonly keys: string[] = [];
  length = 0;

  push(ref: ColumnRef, type: LogicalType, value: CellValue, parent: string, key: string): void {
    const i = this.length++;
    this.refs[i] = ref;
    this.types[i] = type;
    this.values[i] = value;
    this.parents[i] = parent;
    this.keys[i] = key;
  }

  clear(): void {
    this.length = 0;
  }

  /** Dotted path of field `i`'s raw key (`properties.Plan`), the key under which it lands in the overflow column. */
  source(i: number): string {
    const parent = this.parents[i] as string;
    const key = this.keys[i] as string;
    return parent === '' ? key : `${parent}.${key}`;
  }

  /** JSON text of field `i`'s value, for a JSON column or the overflow column. */
  json(i: number): string {
    return jsonText(this.types[i] as LogicalType, this.values[i] as CellValue);
  }
}

/** JSON text of a typed value, for a JSON column or the overflow column. */
export function jsonText(type: LogicalType, value: CellValue): string {
  switch (type) {
    case 'JSON':
      return String(value);
    case 'STRING':
    case 'TIMESTAMP':
      return JSON.stringify(value);
    default:
      return value === null ? 'null' : String(value);
  }
}

/** A row for one table before schema resolution: fields `start` to `end - 1` of the event's `Fields`. */
export interface RowDraft {
  table: string;
  start: number;
  end: number;
  /** Columns the table is created with when this row creates it (Segment's common columns). */
  columns?: readonly ColumnSchema[];
}
