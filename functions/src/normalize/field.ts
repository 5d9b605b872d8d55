import type { CellValue, LogicalType } from '../destinations/destination.ts';
import type { ColumnRef } from '../naming/name-cache.ts';

/** One column value of a row being built, before schema resolution. */
export interface Field {
  column: string;
  /** The interned name `column` (the same-row collision check stamps it). */
  ref: ColumnRef;
  type: LogicalType;
  value: CellValue;
  /** Dotted path of the raw key's parent (`properties`), and the raw key (`Plan`): see `fieldSource`. */
  parent: string;
  key: string;
}

/** Dotted path of the raw key (`properties.Plan`), the key under which a value lands in the overflow column. */
export function fieldSource(field: Pick<Field, 'parent' | 'key'>): string {
  return field.parent === '' ? field.key : `${field.parent}.${field.key}`;
}

/** A row for one table, before schema resolution. */
export interface RowDraft {
  table: string;
  fields: Field[];
}

/** JSON text of a field's value, for a JSON column or the overflow column. */
export function fieldJson(field: Pick<Field, 'type' | 'value'>): string {
  switch (field.type) {
    case 'JSON':
      return String(field.value);
    case 'STRING':
    case 'TIMESTAMP':
      return JSON.stringify(field.value);
    default:
      return field.value === null ? 'null' : String(field.value);
  }
}
