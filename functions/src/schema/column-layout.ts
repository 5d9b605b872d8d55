import type { ColumnSchema, LogicalType } from '../model/warehouse.ts';
import type { ColumnRef, NameCache } from '../naming/name-cache.ts';
import { type ContractMode, type Contracts, contractFor } from './contracts.ts';

/**
 * Column positions of one table during a load: a column gets a position the first time a row of the table uses
 * it, and keeps it, so rows are cells by position (`StagedRow.at` / `cells`) instead of objects keyed by column
 * name. `columns` only ever grows and is shared by every row of the table; a position may name a column that the
 * schema never took (a rejected event's), which no row then uses.
 *
 * `types` mirrors the committed schema's type per position, so the common case (the column exists with the
 * value's type) is two array reads. The mirror is re-read whenever the table's map in the schema is replaced or
 * changes size (every schema change replaces it, see `evolve.ts`).
 *
 * (Not to be confused with `destinations/bigquery/table-layout.ts`, BigQuery's partitioning and clustering.)
 */
export class ColumnLayout {
  readonly columns: string[] = [];
  /** The committed type of each position's column, or undefined when the schema lacks it. */
  readonly types: (LogicalType | undefined)[] = [];
  /** Whether each position's column is one the loader writes itself (`loaded_at`, ...): no event key may. */
  readonly reserved: boolean[] = [];
  private readonly index = new Map<string, number>();
  /** Position + 1 by `ColumnRef.id` (a hole: not looked up yet in this epoch). */
  private byRef: number[] = [];
  private names: NameCache | undefined;
  private epoch = -1;
  private synced: ReadonlyMap<string, LogicalType> | undefined;
  private syncedSize = -1;
  private bookkeeping: readonly ColumnSchema[] | undefined;
  private bookkeepingPositions: readonly number[] = [];
  private contracts: Contracts | undefined;
  private mode: ContractMode = 'evolve';

  constructor(
    readonly table: string,
    private readonly reservedNames: ReadonlySet<string>,
  ) {}

  /** Makes `types` match `cols`, the table's committed columns. */
  sync(cols: ReadonlyMap<string, LogicalType>): void {
    if (cols === this.synced && cols.size === this.syncedSize) return;
    this.synced = cols;
    this.syncedSize = cols.size;
    for (let i = 0; i < this.columns.length; i++) this.types[i] = cols.get(this.columns[i] as string);
  }

  /** Position of a column by name, assigned on first use. */
  position(column: string): number {
    let pos = this.index.get(column);
    if (pos === undefined) {
      pos = this.columns.length;
      this.columns.push(column);
      this.types.push(this.synced?.get(column));
      this.reserved.push(this.reservedNames.has(column));
      this.index.set(column, pos);
    }
    return pos;
  }

  /** Positions of `columns` (the bookkeeping columns every row carries), looked up once. */
  positionsOf(columns: readonly ColumnSchema[]): readonly number[] {
    if (columns !== this.bookkeeping) {
      this.bookkeeping = columns;
      this.bookkeepingPositions = columns.map((c) => this.position(c.name));
    }
    return this.bookkeepingPositions;
  }

  /** The contract mode of the table under `contracts` (cached: it is read for every row). */
  modeUnder(contracts: Contracts): ContractMode {
    if (contracts !== this.contracts) {
      this.contracts = contracts;
      this.mode = contractFor(contracts, this.table);
    }
    return this.mode;
  }

  /** Position of an interned column name: an array read once the ref has been seen. */
  positionOf(ref: ColumnRef, names: NameCache): number {
    if (names !== this.names || names.epoch !== this.epoch) {
      this.names = names;
      this.epoch = names.epoch;
      this.byRef = [];
    }
    const known = this.byRef[ref.id];
    if (known !== undefined) return known - 1;
    const pos = this.position(ref.name);
    this.byRef[ref.id] = pos + 1;
    return pos;
  }
}

/**
 * The column layouts of one normalizer (one load): a table's layout is made on its first row and kept, so its
 * positions never change meaning during the load. `reservedNames` are the columns the loader writes itself.
 */
export class ColumnLayouts {
  private readonly byTable = new Map<string, ColumnLayout>();

  constructor(private readonly reservedNames: ReadonlySet<string>) {}

  of(table: string): ColumnLayout {
    let layout = this.byTable.get(table);
    if (layout === undefined) {
      layout = new ColumnLayout(table, this.reservedNames);
      this.byTable.set(table, layout);
    }
    return layout;
  }
}
