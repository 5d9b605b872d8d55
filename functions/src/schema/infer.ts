import { digitsAt, isCalendarDate, isTimeOfDay } from '@sluice/sdk/protocol';
import type { CellValue, LogicalType } from '../model/warehouse.ts';

/** A leaf value typed for the warehouse. */
export interface TypedValue {
  type: LogicalType;
  value: CellValue;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * RFC 3339 date-time with seconds and an explicit offset (`Z` or `+hh:mm`), every field in range (no leap
 * second 60; Feb 29 only in leap years). Returns the value to store (fractions beyond microseconds truncated,
 * which every destination supports), or undefined when the string is not such a timestamp.
 * Hand-written (no regex): it runs on every string value of every event.
 */
export function rfc3339(value: string): string | undefined {
  // Most strings fail on the first character: a timestamp starts with a digit.
  const first = value.charCodeAt(0);
  if (first < 48 || first > 57) return undefined;
  const len = value.length;
  if (len < 20 || len > 35 || value.charCodeAt(4) !== 45 || value.charCodeAt(7) !== 45) return undefined;
  const t = value.charCodeAt(10);
  if (t !== 84 && t !== 116) return undefined;
  if (value.charCodeAt(13) !== 58 || value.charCodeAt(16) !== 58) return undefined;
  const year = digitsAt(value, 0, 4);
  const month = digitsAt(value, 5, 2);
  const day = digitsAt(value, 8, 2);
  const hour = digitsAt(value, 11, 2);
  const minute = digitsAt(value, 14, 2);
  const second = digitsAt(value, 17, 2);
  if (year < 1 || !isCalendarDate(year, month, day) || !isTimeOfDay(hour, minute, second)) return undefined;
  let i = 19;
  let fractionEnd = 19;
  if (value.charCodeAt(i) === 46) {
    i++;
    while (i < len && value.charCodeAt(i) >= 48 && value.charCodeAt(i) <= 57) i++;
    const n = i - 20;
    if (n < 1 || n > 9) return undefined;
    fractionEnd = i;
  }
  const zone = value.charCodeAt(i);
  if (zone === 90 || zone === 122) {
    if (i + 1 !== len) return undefined;
  } else if (zone === 43 || zone === 45) {
    if (i + 6 !== len || value.charCodeAt(i + 3) !== 58) return undefined;
    const oh = digitsAt(value, i + 1, 2);
    const om = digitsAt(value, i + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return undefined;
  } else {
    return undefined;
  }
  const kept = fractionEnd - 19 > 7 ? value.slice(0, 26) + value.slice(fractionEnd) : value;
  // RFC 3339 allows a lowercase `t` and `z`; DuckDB's timestamp cast reads only `T` and `Z`.
  return t === 116 || zone === 122 ? kept.toUpperCase() : kept;
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
