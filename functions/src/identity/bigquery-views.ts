import { IDENTITY_TABLES, STITCHED_TABLES } from './tables.ts';

/**
 * The identity views on BigQuery (same columns as duckdb-views.ts): `persons` and `<table>_stitched` per Segment
 * event table that exists. Created through tables.insert with a `view` resource; `*` expands when queried.
 */
export function bigQueryViews(
  path: (table: string) => string,
  existing: ReadonlySet<string>,
): { name: string; query: string; marker?: string }[] {
  const map = path(IDENTITY_TABLES.map);
  const users = existing.has('users');
  const views: { name: string; query: string; marker?: string }[] = [
    {
      name: IDENTITY_TABLES.persons,
      marker: users ? 'LEFT JOIN' : undefined,
      query: `WITH p AS (
  SELECT person_id, ANY_VALUE(user_id) AS user_id,
    ARRAY_AGG(IF(id_type = 'user_id', id_value, NULL) IGNORE NULLS ORDER BY id_value) AS user_ids,
    ARRAY_AGG(IF(id_type = 'anonymous_id', id_value, NULL) IGNORE NULLS ORDER BY id_value) AS anonymous_ids,
    ARRAY_AGG(IF(id_type NOT IN ('user_id', 'anonymous_id'), CONCAT(id_type, ':', id_value), NULL) IGNORE NULLS
      ORDER BY id_type, id_value) AS other_ids,
    MIN(first_seen) AS first_seen, MAX(last_seen) AS last_seen
  FROM ${map} GROUP BY person_id)
${users ? `SELECT p.*, u AS traits FROM p LEFT JOIN ${path('users')} u ON u.id = p.user_id` : 'SELECT p.*, NULL AS traits FROM p'}`,
    },
  ];
  for (const table of STITCHED_TABLES) {
    if (!existing.has(table)) continue;
    views.push({
      name: `${table}_stitched`,
      query: `SELECT t.*, COALESCE(mu.person_id, ma.person_id) AS person_id,
  COALESCE(mu.user_id, ma.user_id, CAST(t.user_id AS STRING), CAST(t.anonymous_id AS STRING)) AS blended_user_id
FROM ${path(table)} t
LEFT JOIN ${map} mu ON mu.id_type = 'user_id' AND mu.id_value = CAST(t.user_id AS STRING)
LEFT JOIN ${map} ma ON ma.id_type = 'anonymous_id' AND ma.id_value = CAST(t.anonymous_id AS STRING)`,
    });
  }
  return views;
}
