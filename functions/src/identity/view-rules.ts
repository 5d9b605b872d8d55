import { createHash } from 'node:crypto';
import { BUILT_IN_BLOCKED, type IdentityRules } from '../schema/identity-rules.ts';

/** A SQL string literal in the store's dialect. */
export type Literal = (value: string) => string;

/** DuckDB: quotes doubled. */
export const duckdbLiteral: Literal = (v) => `'${v.replaceAll("'", "''")}'`;
/** BigQuery: backslash escapes (https://cloud.google.com/bigquery/docs/reference/standard-sql/lexical#string_and_bytes_literals). */
export const bigQueryLiteral: Literal = (v) => `'${v.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

/**
 * `isBlocked` (schema/identity-rules.ts) as a SQL predicate over a STRING expression, from the same data: the
 * built-in values, the configured ones (trimmed, lower-cased) and the placeholder rule (zeros and dashes only,
 * empty included). SQL's TRIM removes spaces only, where JavaScript's trim() removes all white space: an id padded
 * with tabs is compared untrimmed here (it links nothing in the map either way, only its display differs).
 */
export function blockedSql(expr: string, rules: IdentityRules, literal: Literal): string {
  const values = [
    ...new Set([...BUILT_IN_BLOCKED, ...rules.blockedValues.map((b) => b.trim().toLowerCase())]),
  ];
  const v = `LOWER(TRIM(${expr}))`;
  return `(${v} IN (${values.map(literal).join(', ')}) OR REPLACE(REPLACE(${v}, '0', ''), '-', '') = '')`;
}

/** The expression, or NULL when it holds a blocked value. */
export const unblockedSql = (expr: string, rules: IdentityRules, literal: Literal): string =>
  `CASE WHEN ${blockedSql(expr, rules, literal)} THEN NULL ELSE ${expr} END`;

/** A short digest of a view's definition: a view is replaced when its definition (e.g. the rules) changes. */
export const definitionDigest = (sql: string): string =>
  createHash('sha256').update(sql).digest('hex').slice(0, 16);
