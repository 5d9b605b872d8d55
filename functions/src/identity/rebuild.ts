import type { IdentityRules } from '../schema/identity-rules.ts';
import { compactLog, EDGE_SOURCE_COLUMNS, edgesOfRow } from './edges.ts';
import type { IdentityEdge } from './tables.ts';
import { type IdentityStore, recomputeAll, type UpkeepReport } from './upkeep.ts';

/**
 * `npm run identity -- rebuild`: re-derives every edge from the event tables with the loader's own rule
 * (`edgesOfRow`), replaces `identity_edge_log` and its compaction `identity_edges` (`compactLog`), then recomputes the whole map. After a contract or rule change (a new
 * trait id type), or a privacy delete of events. Equals the incremental result (a test checks it).
 */
export async function rebuildIdentity(store: IdentityStore, rules: IdentityRules): Promise<UpkeepReport> {
  await store.ensure(rules);
  const edges: IdentityEdge[] = [];
  for (const [table, columns] of await store.sourceTables()) {
    const wanted = [...EDGE_SOURCE_COLUMNS, ...(table === 'identifies' ? rules.traitIdTypes : [])];
    const present = wanted.filter((c) => columns.has(c));
    if (!present.includes('id')) continue;
    for await (const rows of store.readRows(table, present)) {
      for (const row of rows) edges.push(...edgesOfRow(table, row, rules));
    }
  }
  await store.replaceEdges(edges, compactLog(edges));
  return recomputeAll(store, rules);
}
