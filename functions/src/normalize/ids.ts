import type { UpsertTable } from '../schema/upsert-tables.ts';
import { NeedsExactParse } from './parse-json.ts';

/**
 * The column text of a numeric id: its decimal digits (`42` -> `'42'`; a bigint from the exact parse keeps every
 * digit). A `JSON.parse` number beyond 2^53 may have lost digits: `NeedsExactParse` (unless `exact`: the exact
 * parser returns such an integer as a bigint, so a number left here was written with an exponent, `1e30`, and is
 * stored as JavaScript writes it).
 */
export function idText(value: number | bigint, exact: boolean): string {
  if (typeof value === 'number' && !Number.isSafeInteger(value) && !exact) throw new NeedsExactParse();
  return String(value);
}

/**
 * The upsert-table row id of an event (`users`: its userId, `accounts`: its groupId) as text, or undefined when
 * absent (none, null, ""). One function for every path (general, fast, compiled shapes).
 */
export function upsertId(
  upsert: UpsertTable,
  event: Record<string, unknown>,
  exact: boolean,
): string | undefined {
  const value = event[upsert.idMember];
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'bigint') return idText(value, exact);
  return undefined;
}
