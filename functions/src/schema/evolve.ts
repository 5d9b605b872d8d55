import type { ErrorCode } from '../errors.ts';
import type {
  CellValue,
  ColumnSchema,
  LogicalType,
  SchemaChange,
  WarehouseSchema,
} from '../model/warehouse.ts';
import type { ColumnRef, NameCache } from '../naming/name-cache.ts';
import { stableHash } from '../naming/stable-hash.ts';
import { type Coercion, coercionOf, valueKind } from './coercion.ts';
import type { ColumnLayout } from './column-layout.ts';
import type { ContractMode, Contracts } from './contracts.ts';
import type { Fields, RowDraft } from './fields.ts';
import type { ResolveState } from './resolve-state.ts';

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
  /** Values of `tableColumns` written to every row, by position (the loader's load time and id), or none. */
  tableValues?: readonly CellValue[];
  /** The names of `fields` (their ref ids index the table layouts). */
  names: NameCache;
}

/**
 * One table row: `cells[k]` is the value of column `columns[at[k]]` for `k < at.length` (`cells` may be longer,
 * see `StagedRow`); columns not listed are NULL. `columns` is the table's layout (see `column-layout.ts`), shared
 * by the table's rows.
 */
export interface ResolvedRow {
  table: string;
  columns: readonly string[];
  at: number[];
  cells: CellValue[];
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

/** Resolution state of one event: the tentative schema overlay, changes, and the row being built. */
class EventResolver {
  private overlay: Map<string, Map<string, LogicalType>> | undefined;
  readonly changes: SchemaChange[] = [];
  discarded = 0;
  // Current row.
  private table = '';
  private mode: ContractMode = 'evolve';
  private cols: Map<string, LogicalType>;
  /** `cols` is the committed schema's map, mirrored by `layout.types` (else a tentative copy: read the map). */
  private committed = true;
  private layout: ColumnLayout;
  private created = false;
  private at: number[] = [];
  private cells: CellValue[] = [];
  private overflow: string[] | undefined;
  private rowNumber = 0;

  constructor(
    private readonly schema: WarehouseSchema,
    private readonly options: EvolveOptions,
    private readonly state: ResolveState,
  ) {
    // Placeholders until the first row sets them (a resolver is made per event: they are the state's, allocated
    // once per load; never written, `row()` replaces both before use).
    this.cols = state.noColumns;
    this.layout = state.noLayout;
  }

  private writable(): Map<string, LogicalType> {
    this.overlay ??= new Map();
    let cols = this.overlay.get(this.table);
    if (cols === undefined) {
      cols = new Map(this.schema.get(this.table));
      this.overlay.set(this.table, cols);
    }
    this.cols = cols;
    this.committed = false;
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

  private toOverflow(fields: Fields, i: number): void {
    this.overflow ??= [];
    this.overflow.push(`${JSON.stringify(fields.source(i))}:${fields.json(i)}`);
  }

  private addColumn(column: string, type: LogicalType): void {
    this.writable().set(column, type);
    this.changes.push({ kind: 'add_column', table: this.table, column, type });
  }

  private set(column: string, value: CellValue): void {
    this.at.push(this.layout.position(column));
    this.cells.push(value);
  }

  row(fields: Fields, row: RowDraft): ResolvedRow {
    const table = row.table;
    const layout = this.state.layouts.of(table);
    this.layout = layout;
    this.table = table;
    this.mode = layout.modeUnder(this.options.contracts);
    this.rowNumber = this.state.nextRow();
    this.created = false;
    this.at = [];
    this.cells = [];
    this.overflow = undefined;
    const tentative = this.overlay?.get(table);
    const cols = tentative ?? this.schema.get(table);
    if (cols === undefined) {
      if (this.mode !== 'evolve') {
        throw new Reject(this.mode === 'freeze' ? 'freeze' : 'discard_row', `new table ${table}`);
      }
      this.changes.push({ kind: 'create_table', table, columns: [] });
      this.writable();
      this.created = true;
      // A Segment table starts with Segment's common columns (SEGMENT_COLUMNS), whatever this first event has.
      if (row.columns !== undefined) for (const c of row.columns) this.addColumn(c.name, c.type);
    } else {
      this.cols = cols;
      this.committed = tentative === undefined;
      if (this.committed) layout.sync(cols);
    }
    const refs = fields.refs;
    const names = this.options.names;
    for (let i = row.start; i < row.end; i++) {
      const pos = layout.positionOf(refs[i] as ColumnRef, names);
      if (layout.reserved[pos] === true) this.toOverflow(fields, i);
      else this.place(fields, i, pos);
    }
    const overflow = this.overflow as string[] | undefined;
    if (overflow !== undefined) {
      const text = `{${overflow.join(',')}}`;
      if (this.cols.get(OVERFLOW_COLUMN) !== undefined) {
        this.set(OVERFLOW_COLUMN, text);
      } else if (this.mayChange(`new column ${OVERFLOW_COLUMN}`)) {
        this.addColumn(OVERFLOW_COLUMN, 'JSON');
        this.set(OVERFLOW_COLUMN, text);
      }
    }
    const tableColumns = this.options.tableColumns;
    if (this.created) {
      // Bookkeeping columns go last in a new table, after the event's own columns.
      for (const c of tableColumns) if (!this.cols.has(c.name)) this.addColumn(c.name, c.type);
    }
    const tableValues = this.options.tableValues;
    if (tableValues !== undefined) {
      const positions = layout.positionsOf(tableColumns);
      for (let j = 0; j < positions.length; j++) {
        this.at.push(positions[j] as number);
        this.cells.push(tableValues[j] as CellValue);
      }
    }
    return { table, columns: layout.columns, at: this.at, cells: this.cells };
  }

  /** Field `i` of the row into its base column, at `pos` (interned: the collision check is a stamp). */
  private place(fields: Fields, i: number, pos: number): void {
    const ref = fields.refs[i] as ColumnRef;
    if (ref.stamp === this.rowNumber) {
      // A second key of this row mapped to the same column name.
      this.toOverflow(fields, i);
      return;
    }
    ref.stamp = this.rowNumber;
    if (this.committed) {
      // The common case: the column exists and takes the value as is. Array reads, no map lookup.
      const existing = this.layout.types[pos];
      if (existing !== undefined && this.coerce(existing, fields, i) === 'write') {
        this.at.push(pos);
        this.cells.push(fields.values[i] as CellValue);
        return;
      }
    }
    this.placeAs(ref.name, fields, i);
  }

  /** The coercion of field `i` into a column of type `column` (the one table, `coercion.ts`). */
  private coerce(column: LogicalType, fields: Fields, i: number): Coercion {
    const kind = valueKind(fields.types[i] as LogicalType, fields.values[i] as CellValue);
    return coercionOf(column, kind, this.options.canWidenIntToFloat);
  }

  /** Field `i` of the row into `column` (its base column or a variant), changing the schema when needed. */
  private placeAs(column: string, fields: Fields, i: number): void {
    const type = fields.types[i] as LogicalType;
    const value = fields.values[i] as CellValue;
    const existing = this.cols.get(column);
    if (existing === undefined) {
      // Keep one slot for the overflow column, and room for the bookkeeping columns of a new table.
      const reserved = 1 + (this.created ? this.options.tableColumns.length : 0);
      if (this.cols.size >= this.options.columnBudget - reserved) {
        this.toOverflow(fields, i);
        return;
      }
      if (!this.mayChange(`new column ${column}`)) return;
      this.addColumn(column, type);
      this.set(column, value);
      return;
    }
    switch (this.coerce(existing, fields, i)) {
      case 'write':
        this.set(column, value);
        return;
      case 'json':
        this.set(column, fields.json(i));
        return;
      case 'widen':
        if (!this.mayChange(`widen ${column}`)) return;
        this.writable().set(column, 'FLOAT64');
        this.changes.push({ kind: 'widen_column', table: this.table, column, from: 'INT64', to: 'FLOAT64' });
        this.set(column, value);
        return;
      case 'variant': {
        // A variant name never equals a base name (user keys never yield `__v_`): its own collision check.
        const variant = variantName(column, type, this.options.maxColumnNameLength);
        if (!this.state.claimVariant(variant, this.rowNumber)) {
          this.toOverflow(fields, i);
          return;
        }
        this.placeAs(variant, fields, i);
        return;
      }
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
 * Per value into an existing column: the coercion table (`COERCION` in coercion.ts) says write as is, write its
 * JSON text, widen the column (INT64 -> FLOAT64, when the destination can) or go to the variant column
 * `<column>__v_<type>`. A new column beyond the budget
 * goes into the overflow JSON column; so does the second of two keys that map to one column name in one row.
 */
export function resolveEvent(
  fields: Fields,
  rows: readonly RowDraft[],
  schema: WarehouseSchema,
  options: EvolveOptions,
  state: ResolveState,
): Resolution {
  const resolver = new EventResolver(schema, options, state);
  const resolved: ResolvedRow[] = [];
  try {
    for (const row of rows) resolved.push(resolver.row(fields, row));
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
