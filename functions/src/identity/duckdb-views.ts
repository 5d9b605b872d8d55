import type { IdentityRules } from '../schema/identity-rules.ts';
import { IDENTITY_TABLES, STITCHED_TABLES } from './tables.ts';
import { duckdbLiteral, unblockedSql } from './view-rules.ts';

const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** `<table>_stitched`: the event table with `person_id` and `blended_user_id`. */
export const stitchedViewName = (table: string): string => `${table}_stitched`;

/**
 * The identity views on DuckDB, for the tables that exist (a view is created once; `*` is bound when the view is
 * read, so columns added later appear):
 * - `persons`: one row per person, its user ids, anonymous ids, other ids (`type:value`), first/last seen, and
 *   `traits`: the `users` row (latest traits) of its user id, as a struct;
 * - `<table>_stitched` for each Segment event table: every column, plus `person_id` (the person of the event's
 *   user id, else of its anonymous id) and `blended_user_id` (the person's user id, else the event's user id, else
 *   its anonymous id: Segment's sessionization packages' definition; an event's own blocked value is skipped).
 * Each is created with `CREATE OR REPLACE` when its definition changed (the store compares a digest kept as the
 * view's comment): `users` appearing, a rule change.
 */
export function duckdbViews(
  existing: ReadonlySet<string>,
  rules: IdentityRules,
): { name: string; sql: string }[] {
  const map = q(IDENTITY_TABLES.map);
  const views: { name: string; sql: string }[] = [];
  // Before the first identify there is no `users` table: `persons` has NULL traits until it exists.
  const users = existing.has('users');
  views.push({
    name: IDENTITY_TABLES.persons,
    sql: `CREATE OR REPLACE VIEW ${q(IDENTITY_TABLES.persons)} AS
        WITH p AS (
          SELECT person_id, any_value(user_id) AS user_id,
            coalesce(list(id_value ORDER BY id_value) FILTER (WHERE listed AND id_type = 'user_id'), []) AS user_ids,
            coalesce(list(id_value ORDER BY id_value) FILTER (WHERE listed AND id_type = 'anonymous_id'), []) AS anonymous_ids,
            coalesce(list(id_type || ':' || id_value ORDER BY id_type, id_value)
              FILTER (WHERE listed AND id_type NOT IN ('user_id', 'anonymous_id')), []) AS other_ids,
            min(first_seen) AS first_seen, max(last_seen) AS last_seen
          FROM ${map} GROUP BY person_id)
        ${users ? 'SELECT p.*, u AS traits FROM p LEFT JOIN users u ON u.id = p.user_id' : 'SELECT p.*, NULL AS traits FROM p'}`,
  });
  for (const table of STITCHED_TABLES) {
    if (!existing.has(table)) continue;
    const own = (column: string) => unblockedSql(`CAST(t.${column} AS VARCHAR)`, rules, duckdbLiteral);
    views.push({
      name: stitchedViewName(table),
      sql: `CREATE OR REPLACE VIEW ${q(stitchedViewName(table))} AS
        SELECT t.*, coalesce(mu.person_id, ma.person_id) AS person_id,
          coalesce(mu.user_id, ma.user_id, ${own('user_id')}, ${own('anonymous_id')}) AS blended_user_id
        FROM ${q(table)} t
        LEFT JOIN ${map} mu ON mu.id_type = 'user_id' AND mu.id_value = CAST(t.user_id AS VARCHAR)
        LEFT JOIN ${map} ma ON ma.id_type = 'anonymous_id' AND ma.id_value = CAST(t.anonymous_id AS VARCHAR)`,
    });
  }
  return views;
}
