import type { CellValue, ColumnSchema, WarehouseSchema } from '../model/warehouse.ts';
import type { NameCache } from '../naming/name-cache.ts';
import type { Contracts } from '../schema/contracts.ts';

/** The settings of one load's normalizer (`createNormalizer`). */
export interface NormalizerOptions {
  /**
   * The load's schema as read at its start; the normalizer updates it with every change it accepts (the caller
   * applies the returned changes to the destination).
   */
  schema: WarehouseSchema;
  names: NameCache;
  maxNestingDepth: number;
  contracts: Contracts;
  columnBudget: number;
  canWidenIntToFloat: boolean;
  maxColumnNameLength: number;
  tableColumns: readonly ColumnSchema[];
  /** Values of `tableColumns` for every row (load time, load id); omitted, the rows carry none. */
  tableValues?: readonly CellValue[];
  /**
   * Try the one-pass common case first (the walk's fast branch, `walk.ts`) and the compiled shapes recorded from it (`compiled/`);
   * default true. Tests turn it off to compare with the general path alone.
   */
  fastPath?: boolean;
  /** Compile a shape after this many fast-path events of its kind (`compiled/shape-cache.ts`; default 64). */
  compileAfter?: number;
}

/** What a normalizer counted: events by the path that took them, shapes compiled. */
export interface NormalizerStats {
  general: number;
  fast: number;
  compiled: number;
  shapesCompiled: number;
}
