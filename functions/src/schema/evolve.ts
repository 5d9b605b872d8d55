import type {
  CellValue,
  ColumnSchema,
  LogicalType,
  SchemaChange,
  WarehouseSchema,
} from '../destinations/destination.ts';
import type { ErrorCode } from '../errors.ts';
import { stableHash } from '../naming/stable-hash.ts';
import { type Field, fieldJson, type RowDraft } from '../normalize/field.ts';
import { type ContractMode, type Contracts, contractFor } from './contracts.ts';

/** JSON column that receives values beyond the column budget and same-row name collisions. */
export const OVERFLOW_COLUMN = '_sluice_overflow';

export interface EvolveOptions {
  contracts: Contracts;
  /** Max columns per table (min of config and destination). One slot is kept for the overflow column. */
  columnBudget: number;
  canWidenIntToFloat: boolean;
  maxColumnNameLength: number;
  /** Columns every table is created with (`loaded_at`, `_sluice_load_id`). */
  tableColumns: readonly ColumnSchema[];
}

export interface ResolvedRow {
  table: string;
  values: Record<string, CellValue>;
}

export type Resolution =
  | { ok: true; rows: ResolvedRow[]; changes: SchemaChange[]; discarded: number }
  | { ok: false; code: ErrorCode; reason: string; keepRaw: boolean };

class Reject {
  constructor(
    readonly mode: ContractMode,
    readonly reason: string,
  ) {}
}

/**
 * Resolves one event's rows against the schema, all-or-nothing: either every row fits (after the changes it
 * returns, which are then applied to `schema`) or the event is rejected by a contract and `schema` is untouched.
 *
 * Per value, in order: same type -> as is; INT64 into FLOAT64 -> as is (safe integers); TIMESTAMP into STRING ->
 * the string; anything into JSON -> its JSON text; FLOAT64 into INT64 -> the column is widened to FLOAT64 (when the
 * destination can); any other conflict -> the variant column `<column>__v_<type>`. A new column beyond the budget
 * goes into the overflow JSON column; so does the second of two keys that map to one column name in one row.
 */
export function resolveEvent(
  rows: readonly RowDraft[],
  schema: WarehouseSchema,
  options: EvolveOptions,
): Resolution {
  const overlay = new Map<string, Map<string, LogicalType>>();
  const changes: SchemaChange[] = [];
  let discarded = 0;
  const resolved: ResolvedRow[] = [];
  const metaNames = new Set(options.tableColumns.map((c) => c.name));

  const writable = (table: string): Map<string, LogicalType> => {
    let cols = overlay.get(table);
    if (cols === undefined) {
      cols = new Map(schema.get(table));
      overlay.set(table, cols);
    }
    return cols;
  };

  try {
    for (const row of rows) {
      const table = row.table;
      const mode = contractFor(options.contracts, table);
      let cols = overlay.get(table) ?? schema.get(table);
      let created = false;
      if (cols === undefined) {
        if (mode !== 'evolve')
          throw new Reject(mode === 'freeze' ? 'freeze' : 'discard_row', `new table ${table}`);
        cols = writable(table);
        changes.push({ kind: 'create_table', table, columns: [] });
        created = true;
      }
      const values: Record<string, CellValue> = {};
      let overflow: string[] | undefined;

      const toOverflow = (field: Field): void => {
        overflow ??= [];
        overflow.push(`${JSON.stringify(field.source)}:${fieldJson(field)}`);
      };

      /** A schema change is needed for `what`: true to go ahead, false when the value is discarded. */
      const mayChange = (what: string): boolean => {
        if (mode === 'evolve') return true;
        if (mode === 'discard_value') {
          discarded++;
          return false;
        }
        throw new Reject(mode, `${what} in ${table}`);
      };

      const place = (column: string, field: Field): void => {
        const { type, value } = field;
        const existing = (cols as Map<string, LogicalType>).get(column);
        if (existing === undefined) {
          if (values[column] !== undefined) {
            toOverflow(field);
            return;
          }
          // Keep one slot for the overflow column, and room for the bookkeeping columns of a new table.
          const reserved = 1 + (created ? options.tableColumns.length : 0);
          if ((cols as Map<string, LogicalType>).size >= options.columnBudget - reserved) {
            toOverflow(field);
            return;
          }
          if (!mayChange(`new column ${column}`)) return;
          cols = writable(table);
          cols.set(column, type);
          changes.push({ kind: 'add_column', table, column, type });
          values[column] = value;
          return;
        }
        if (values[column] !== undefined) {
          toOverflow(field);
          return;
        }
        if (existing === type) {
          values[column] = value;
        } else if (existing === 'FLOAT64' && type === 'INT64' && typeof value === 'number') {
          values[column] = value;
        } else if (existing === 'STRING' && type === 'TIMESTAMP') {
          values[column] = value;
        } else if (existing === 'JSON') {
          values[column] = fieldJson(field);
        } else if (existing === 'INT64' && type === 'FLOAT64' && options.canWidenIntToFloat) {
          if (!mayChange(`widen ${column}`)) return;
          cols = writable(table);
          cols.set(column, 'FLOAT64');
          changes.push({ kind: 'widen_column', table, column, from: 'INT64', to: 'FLOAT64' });
          values[column] = value;
        } else {
          place(variantName(column, type, options.maxColumnNameLength), field);
        }
      };

      for (const field of row.fields) {
        if (metaNames.has(field.column)) toOverflow(field);
        else place(field.column, field);
      }

      if (overflow !== undefined) {
        const field: Field = {
          column: OVERFLOW_COLUMN,
          type: 'JSON',
          value: `{${overflow.join(',')}}`,
          source: '',
        };
        const existing = cols.get(OVERFLOW_COLUMN);
        if (existing === undefined) {
          if (mayChange(`new column ${OVERFLOW_COLUMN}`)) {
            cols = writable(table);
            cols.set(OVERFLOW_COLUMN, 'JSON');
            changes.push({ kind: 'add_column', table, column: OVERFLOW_COLUMN, type: 'JSON' });
            values[OVERFLOW_COLUMN] = field.value;
          }
        } else {
          values[OVERFLOW_COLUMN] = field.value;
        }
      }
      if (created) {
        // Bookkeeping columns go last in a new table, after the event's own columns.
        for (const c of options.tableColumns) {
          if (cols.has(c.name)) continue;
          cols.set(c.name, c.type);
          changes.push({ kind: 'add_column', table, column: c.name, type: c.type });
        }
      }
      resolved.push({ table, values });
    }
  } catch (error) {
    if (error instanceof Reject) {
      return error.mode === 'freeze'
        ? { ok: false, code: 'SLUICE_ERR_LOAD_CONTRACT_FREEZE', reason: error.reason, keepRaw: true }
        : { ok: false, code: 'SLUICE_ERR_LOAD_CONTRACT_DISCARD_ROW', reason: error.reason, keepRaw: false };
    }
    throw error;
  }
  for (const [table, cols] of overlay) schema.set(table, cols);
  return { ok: true, rows: resolved, changes, discarded };
}

/** `<column>__v_<type>`, shortened with a hash when it would pass the name limit. */
export function variantName(column: string, type: LogicalType, max: number): string {
  const name = `${column}__v_${type.toLowerCase()}`;
  return name.length <= max ? name : `${name.slice(0, max - 9)}_${stableHash(name)}`;
}
