import type { IdentityRules } from '../schema/identity-rules.ts';
import { IDENTITY_TABLES, STITCHED_TABLES } from './tables.ts';
import { bigQueryLiteral, unblockedSql } from './view-rules.ts';

/**
 * The identity views on BigQuery (same columns as duckdb-views.ts): `persons` and `<table>_stitched` per Segment
 * event table that exists. Created through tables.insert with a `view` resource (`*` expands when queried), and
 * replaced when the wanted query differs from the stored one (a rule change, `users` appearing).
 */
export function bigQueryViews(
  path: (table: string) => string,
  existing: ReadonlySet<string>,
  rules: IdentityRules,
): { name: string; query: string }[] {
  const map = path(IDENTITY_TABLES.map);
  const users = existing.has('users');
  // Each id once, under the type an event gave it (`listed`, compute.ts); ARRAY subqueries rather than
  // ARRAY_AGG(... IGNORE NULLS) so that an empty list is [] and the text is plain SQL.
  const ids = (where: string, value = 'i.id_value', order = 'i.id_value') =>
    `ARRAY(SELECT ${value} FROM ${map} i WHERE i.person_id = p.person_id AND i.listed AND ${where} ORDER BY ${order})`;
  const views: { name: string; query: string }[] = [
    {
      name: IDENTITY_TABLES.persons,
      query: `WITH p AS (
  SELECT person_id, ANY_VALUE(user_id) AS user_id, MIN(first_seen) AS first_seen, MAX(last_seen) AS last_seen
  FROM ${map} GROUP BY person_id)
SELECT p.person_id, p.user_id,
  ${ids("i.id_type = 'user_id'")} AS user_ids,
  ${ids("i.id_type = 'anonymous_id'")} AS anonymous_ids,
  ${ids("i.id_type NOT IN ('user_id', 'anonymous_id')", "CONCAT(i.id_type, ':', i.id_value)", 'i.id_type, i.id_value')} AS other_ids,
  p.first_seen, p.last_seen,
  ${users ? 'u AS traits' : 'NULL AS traits'}
FROM p${users ? ` LEFT JOIN ${path('users')} u ON u.id = p.user_id` : ''}`,
    },
  ];
  for (const table of STITCHED_TABLES) {
    if (!existing.has(table)) continue;
    const own = (column: string) => unblockedSql(`CAST(t.${column} AS STRING)`, rules, bigQueryLiteral);
    views.push({
      name: `${table}_stitched`,
      query: `SELECT t.*, COALESCE(mu.person_id, ma.person_id) AS person_id,
  COALESCE(mu.user_id, ma.user_id, ${own('user_id')}, ${own('anonymous_id')}) AS blended_user_id
FROM ${path(table)} t
LEFT JOIN ${map} mu ON mu.id_type = 'user_id' AND mu.id_value = CAST(t.user_id AS STRING)
LEFT JOIN ${map} ma ON ma.id_type = 'anonymous_id' AND ma.id_value = CAST(t.anonymous_id AS STRING)`,
    });
  }
  return views;
}
