import type { CellValue, LogicalType } from '../model/warehouse.ts';

/**
 * The kind of a value as inferred (`infer.ts`): its logical type, with `BIGINT` apart, an exact integer beyond
 * +-2^53 inside int64 (typed INT64, held as a bigint), which a FLOAT64 column cannot take without losing digits.
 */
export type ValueKind = LogicalType | 'BIGINT';

export const VALUE_KINDS: readonly ValueKind[] = [
  'BOOL',
  'INT64',
  'BIGINT',
  'FLOAT64',
  'STRING',
  'TIMESTAMP',
  'JSON',
];

/**
 * What a value of a kind does in an existing column of a type:
 * - `write`: the cell is the value as inferred (a safe integer in a FLOAT64 column, a timestamp in a STRING one);
 * - `json`: the cell is the value's JSON text (a JSON column takes anything);
 * - `widen`: the column is widened to FLOAT64 first (an INT64 column meeting a fraction), when the destination can
 *   (`canWidenIntToFloat`), else `variant`;
 * - `variant`: the value goes to the variant column `<column>__v_<kind's type>` (dlt's variant columns).
 * A contract (`contracts.ts`) then decides whether a change this needs is made, the value discarded or the row.
 */
export type Coercion = 'write' | 'json' | 'widen' | 'variant';

function row(writes: readonly ValueKind[], widens: readonly ValueKind[] = []): Record<ValueKind, Coercion> {
  const out = {} as Record<ValueKind, Coercion>;
  for (const kind of VALUE_KINDS)
    out[kind] = writes.includes(kind) ? 'write' : widens.includes(kind) ? 'widen' : 'variant';
  return out;
}

/**
 * The one coercion table: column type x value kind -> coercion. The general path (`evolve.ts`), the fast path
 * (`normalize/walk.ts`) and the code of compiled shapes (`compiled/value-check.ts`, generated from it) all read it.
 */
export const COERCION: Readonly<Record<LogicalType, Readonly<Record<ValueKind, Coercion>>>> = {
  BOOL: row(['BOOL']),
  INT64: row(['INT64', 'BIGINT'], ['FLOAT64']),
  FLOAT64: row(['FLOAT64', 'INT64']),
  STRING: row(['STRING', 'TIMESTAMP']),
  TIMESTAMP: row(['TIMESTAMP']),
  JSON: {
    BOOL: 'json',
    INT64: 'json',
    BIGINT: 'json',
    FLOAT64: 'json',
    STRING: 'json',
    TIMESTAMP: 'json',
    JSON: 'write',
  },
};

/** The kind of an inferred value (its type, `BIGINT` for an INT64 held as a bigint). */
export function valueKind(type: LogicalType, value: CellValue): ValueKind {
  return type === 'INT64' && typeof value === 'bigint' ? 'BIGINT' : type;
}

/** The coercion of a value into an existing column, with the destination's ability to widen applied. */
export function coercionOf(column: LogicalType, kind: ValueKind, canWidenIntToFloat: boolean): Coercion {
  const coercion = COERCION[column][kind];
  return coercion === 'widen' && !canWidenIntToFloat ? 'variant' : coercion;
}
