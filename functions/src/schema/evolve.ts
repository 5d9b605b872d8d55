import type {
  CellValue,
  ColumnSchema,
  LogicalType,
  SchemaChange,
  WarehouseSchema,
} from '../destinations/destination.ts';
import type { ErrorCode } from '../errors.ts';
import { stableHash } from '../naming/stable-hash.ts';
import { type Field, fieldJson, fieldSource, type RowDraft } from '../normalize/field.ts';
import { type ContractMode, type Contracts, contractFor } from './contracts.ts';

/** JSON column that receives values beyond the column budget and same-row name collisions. */
export const OVERFLOW_COLUMN = '_sluice_overflow';

export interface EvolveOptions {
  contracts: Contracts;
  /** Max columns per table (min of config and destination). One slot is kept for the overflow column. */
  columnBudget: number;
  canWidenIntToFloat: boolean;
  maxColumnNameLength: number;
  /** Columns every table is created with, last (`loaded_at`, `_sluice_load_id`). */
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
 * Column name -> number of the row that last set it: the same-row collision check, without reading back the
 * row object. Row numbers only grow, so the map never needs clearing for correctness (it is cleared when large).
 */
const stamps = new Map<string, number>();
let rowCounter = 0;
function nextRowNumber(): number {
  if (stamps.size > 100_000) stamps.clear();
  return ++rowCounter;
}

const modeCache = new WeakMap<Contracts, Map<string, ContractMode>>();
function modeOf(contracts: Contracts, table: string): ContractMode {
  let byTable = modeCache.get(contracts);
  if (!byTable) {
    byTable = new Map();
    modeCache.set(contracts, byTable);
  }
  let mode = byTable.get(table);
  if (mode === undefined) {
    mode = contractFor(contracts, table);
    if (byTable.size < 100_000) byTable.set(table, mode);
  }
  return mode;
}

const metaNamesCache = new WeakMap<readonly ColumnSchema[], ReadonlySet<string>>();
function metaNamesOf(columns: readonly ColumnSchema[]): ReadonlySet<string> {
  let set = metaNamesCache.get(columns);
  if (!set) {
    set = new Set(columns.map((c) => c.name));
    metaNamesCache.set(columns, set);
  }
  return set;
}

/** Resolution state of one event: the tentative schema overlay, changes, and the row being built. */
class EventResolver {
  private overlay: Map<string, Map<string, LogicalType>> | undefined;
  readonly changes: SchemaChange[] = [];
  discarded = 0;
  // Current row.
  private table = '';
  private mode: ContractMode = 'evolve';
  private cols: Map<string, LogicalType> = new Map();
  private created = false;
  private values: Record<string, CellValue> = {};
  private overflow: string[] | undefined;
  private rowNumber = 0;

  constructor(
    private readonly schema: WarehouseSchema,
    private readonly options: EvolveOptions,
  ) {}

  private writable(): Map<string, LogicalType> {
    this.overlay ??= new Map();
    let cols = this.overlay.get(this.table);
    if (cols === undefined) {
      cols = new Map(this.schema.get(this.table));
      this.overlay.set(this.table, cols);
    }
    this.cols = cols;
    return cols;
  }

  /** A schema change is needed: true to go ahead, false when the value is discarded; throws Reject otherwise. */
  private mayChange(what: string): boolean {
    if (this.mode === 'evolve') return true;
    if (this.mode === 'discard_value') {
      this.discarded++;
      return false;
    }
    throw new Reject(this.mode, `${what} in ${this.table}`);
  }

  private toOverflow(field: Field): void {
    this.overflow ??= [];
    this.overflow.push(`${JSON.stringify(fieldSource(field))}:${fieldJson(field)}`);
  }

  private addColumn(column: string, type: LogicalType): void {
    this.writable().set(column, type);
    this.changes.push({ kind: 'add_column', table: this.table, column, type });
  }

  row(row: RowDraft): ResolvedRow {
    const table = row.table;
    this.table = table;
    this.mode = modeOf(this.options.contracts, table);
    this.rowNumber = nextRowNumber();
    this.created = false;
    this.values = {};
    this.overflow = undefined;
    const cols = this.overlay?.get(table) ?? this.schema.get(table);
    if (cols === undefined) {
      if (this.mode !== 'evolve') {
        throw new Reject(this.mode === 'freeze' ? 'freeze' : 'discard_row', `new table ${table}`);
      }
      this.changes.push({ kind: 'create_table', table, columns: [] });
      this.writable();
      this.created = true;
    } else {
      this.cols = cols;
    }
    const meta = metaNamesOf(this.options.tableColumns);
    const fields = row.fields;
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i] as Field;
      if (meta.has(field.column)) this.toOverflow(field);
      else this.place(field.column, field, false);
    }
    const overflow = this.overflow as string[] | undefined;
    if (overflow !== undefined) {
      const text = `{${overflow.join(',')}}`;
      if (this.cols.get(OVERFLOW_COLUMN) !== undefined) {
        this.values[OVERFLOW_COLUMN] = text;
      } else if (this.mayChange(`new column ${OVERFLOW_COLUMN}`)) {
        this.addColumn(OVERFLOW_COLUMN, 'JSON');
        this.values[OVERFLOW_COLUMN] = text;
      }
    }
    if (this.created) {
      // Bookkeeping columns go last in a new table, after the event's own columns.
      for (const c of this.options.tableColumns) if (!this.cols.has(c.name)) this.addColumn(c.name, c.type);
    }
    return { table, values: this.values };
  }

  private place(column: string, field: Field, variant: boolean): void {
    const { type, value } = field;
    const values = this.values;
    // Same-row collision check: base names are interned (`ColumnRef`), variant names (never equal to a base
    // name: user keys never yield `__v_`) go through a map.
    if (!variant) {
      const ref = field.ref;
      if (ref.stamp === this.rowNumber) {
        // A second key of this row mapped to the same column name.
        this.toOverflow(field);
        return;
      }
      ref.stamp = this.rowNumber;
    } else {
      if (stamps.get(column) === this.rowNumber) {
        this.toOverflow(field);
        return;
      }
      stamps.set(column, this.rowNumber);
    }
    const existing = this.cols.get(column);
    if (existing === undefined) {
      // Keep one slot for the overflow column, and room for the bookkeeping columns of a new table.
      const reserved = 1 + (this.created ? this.options.tableColumns.length : 0);
      if (this.cols.size >= this.options.columnBudget - reserved) {
        this.toOverflow(field);
        return;
      }
      if (!this.mayChange(`new column ${column}`)) return;
      this.addColumn(column, type);
      values[column] = value;
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
    } else if (existing === 'INT64' && type === 'FLOAT64' && this.options.canWidenIntToFloat) {
      if (!this.mayChange(`widen ${column}`)) return;
      this.writable().set(column, 'FLOAT64');
      this.changes.push({ kind: 'widen_column', table: this.table, column, from: 'INT64', to: 'FLOAT64' });
      values[column] = value;
    } else {
      this.place(variantName(column, type, this.options.maxColumnNameLength), field, true);
    }
  }

  commit(): void {
    if (this.overlay) for (const [table, cols] of this.overlay) this.schema.set(table, cols);
  }
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
  const resolver = new EventResolver(schema, options);
  const resolved: ResolvedRow[] = [];
  try {
    for (const row of rows) resolved.push(resolver.row(row));
  } catch (error) {
    if (error instanceof Reject) {
      return error.mode === 'freeze'
        ? { ok: false, code: 'SLUICE_ERR_LOAD_CONTRACT_FREEZE', reason: error.reason, keepRaw: true }
        : { ok: false, code: 'SLUICE_ERR_LOAD_CONTRACT_DISCARD_ROW', reason: error.reason, keepRaw: false };
    }
    throw error;
  }
  resolver.commit();
  return { ok: true, rows: resolved, changes: resolver.changes, discarded: resolver.discarded };
}

/** `<column>__v_<type>`, shortened with a hash when it would pass the name limit. */
export function variantName(column: string, type: LogicalType, max: number): string {
  const name = `${column}__v_${type.toLowerCase()}`;
  return name.length <= max ? name : `${name.slice(0, max - 9)}_${stableHash(name)}`;
}
