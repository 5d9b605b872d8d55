import type { ColumnSchema, LogicalType } from '../model/warehouse.ts';
import { ColumnLayout, ColumnLayouts } from './column-layout.ts';

/**
 * What schema resolution keeps from row to row during one load: the tables' column layouts and the row numbers
 * behind the same-row collision check. Owned by one normalizer (`createNormalizer`), never by a module.
 */
export class ResolveState {
  readonly layouts: ColumnLayouts;
  /** The names of the bookkeeping columns (`loaded_at`, `_sluice_load_id`): no event key may take them. */
  readonly reserved: ReadonlySet<string>;
  private rowCounter = 0;
  /**
   * Variant column name -> number of the row that last set it: the same-row collision check for variant columns,
   * which have no interned ref. Row numbers only grow, so the map never needs clearing for correctness (it is
   * cleared when large).
   */
  private readonly variantStamps = new Map<string, number>();
  /** A resolver's layout and columns before its first row (see `evolve.ts`); never written. */
  readonly noLayout = new ColumnLayout('', new Set());
  readonly noColumns: Map<string, LogicalType> = new Map();

  constructor(tableColumns: readonly ColumnSchema[]) {
    this.reserved = new Set(tableColumns.map((c) => c.name));
    this.layouts = new ColumnLayouts(this.reserved);
  }

  /** A row number never used before in this load (stamps compare against it). */
  nextRow(): number {
    if (this.variantStamps.size > 100_000) this.variantStamps.clear();
    return ++this.rowCounter;
  }

  /** Marks variant column `name` as set by row `row`; false when that row has set it already (a collision). */
  claimVariant(name: string, row: number): boolean {
    if (this.variantStamps.get(name) === row) return false;
    this.variantStamps.set(name, row);
    return true;
  }
}
