import type { CellValue, LogicalType } from '../destinations/destination.ts';

/** A leaf value typed for the warehouse. */
export interface TypedValue {
  type: LogicalType;
  value: CellValue;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;
const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * RFC 3339 date-time with seconds and an explicit offset (`Z` or `+hh:mm`), every field in range (no leap
 * second 60; Feb 29 only in leap years). Returns the value to store (fractions beyond microseconds truncated,
 * which every destination supports), or undefined when the string is not such a timestamp.
 */
export function rfc3339(value: string): string | undefined {
  if (value.length < 20 || value.length > 35 || value.charCodeAt(4) !== 45) return undefined;
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > (DAYS[month - 1] ?? 0)) return undefined;
  if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)))
    return undefined;
  if (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 59) return undefined;
  if (m[8] !== undefined && (Number(m[8]) > 23 || Number(m[9]) > 59)) return undefined;
  const fraction = m[7];
  if (fraction !== undefined && fraction.length > 7) {
    const at = value.indexOf(fraction);
    return value.slice(0, at + 7) + value.slice(at + fraction.length);
  }
  return value;
}

/**
 * Infers the logical type of a JSON leaf (not an object/array; null is the caller's business):
 * boolean -> BOOL; integral safe number -> INT64; other finite number -> FLOAT64; bigint inside int64 -> INT64
 * (exact), outside -> STRING (its exact digits); RFC 3339 string -> TIMESTAMP; other string -> STRING;
 * non-finite number (only from overflowing literals such as 1e999) -> STRING ('Infinity').
 */
export function inferLeaf(value: boolean | number | bigint | string): TypedValue {
  switch (typeof value) {
    case 'boolean':
      return { type: 'BOOL', value };
    case 'number':
      if (Number.isSafeInteger(value)) return { type: 'INT64', value };
      if (Number.isFinite(value)) return { type: 'FLOAT64', value };
      return { type: 'STRING', value: String(value) };
    case 'bigint':
      if (value >= INT64_MIN && value <= INT64_MAX) return { type: 'INT64', value };
      return { type: 'STRING', value: value.toString() };
    default: {
      const ts = rfc3339(value);
      return ts === undefined ? { type: 'STRING', value } : { type: 'TIMESTAMP', value: ts };
    }
  }
}
