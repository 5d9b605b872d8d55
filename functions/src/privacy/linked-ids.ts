import type { Person } from './person.ts';
import { KEPT_TABLES } from './targets.ts';
import type { PrivacyWarehouse } from './warehouse.ts';

const MAX_ALIAS_ROUNDS = 10;

/**
 * The ids linked to the given ones, from the warehouse itself (not the identity graph): the anonymous ids of
 * every row that carries one of the user ids (identifies, tracks, pages ... any event with both), and, through
 * `aliases`, the previous ids aliased to a user id and the user ids a previous id was aliased to (followed
 * until nothing new appears, at most 10 rounds). Anonymous ids are not followed to other user ids: a device
 * shared with another account does not make that account's events this person's.
 */
export async function findLinkedIds(wh: PrivacyWarehouse, given: Person): Promise<Person> {
  const d = wh.dialect;
  const c = d.column;
  const tables = [...(await wh.tables())].filter(([t]) => !KEPT_TABLES.has(t));
  const users = new Set(given.userIds);
  const anonymous = new Set(given.anonymousIds);
  const aliasTables = tables.filter(([, cols]) => cols.has('previous_id') && cols.has('user_id'));
  for (let round = 0; round < MAX_ALIAS_ROUNDS; round++) {
    const before = users.size + anonymous.size;
    for (const [table] of aliasTables) {
      const rows = await wh.select(
        `SELECT DISTINCT ${c('previous_id')} AS p, ${c('user_id')} AS u FROM ${d.table(table)}
         WHERE ${c('user_id')} IN ${d.set('ua')} OR ${c('previous_id')} IN ${d.set('ua')}`,
        { sets: { ua: [...users, ...anonymous] } },
      );
      for (const row of rows) {
        if (typeof row.u === 'string' && row.u !== '') users.add(row.u);
        if (typeof row.p === 'string' && row.p !== '') {
          // A previous id may be an anonymous id or an older user id: it is erased as either.
          users.add(row.p);
          anonymous.add(row.p);
        }
      }
    }
    if (users.size + anonymous.size === before) break;
  }
  for (const [table, cols] of tables) {
    if (!cols.has('user_id') || !cols.has('anonymous_id') || users.size === 0) continue;
    const rows = await wh.select(
      `SELECT DISTINCT ${c('anonymous_id')} AS a FROM ${d.table(table)}
       WHERE ${c('user_id')} IN ${d.set('u')} AND ${c('anonymous_id')} IS NOT NULL`,
      { sets: { u: [...users] } },
    );
    for (const row of rows) if (typeof row.a === 'string' && row.a !== '') anonymous.add(row.a);
  }
  return { userIds: [...users].sort(), anonymousIds: [...anonymous].sort() };
}
