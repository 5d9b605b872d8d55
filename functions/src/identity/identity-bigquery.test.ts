import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeBigQueryDestination } from '../../test/fakes/fake-bigquery-destination.ts';
import { withStore } from '../../test/helpers/identity.ts';
import { type IdentityBigQuery, ident, identityBigQuery, MB } from '../../test/helpers/identity-bigquery.ts';
import { DEFAULT_IDENTITY_RULES } from '../schema/identity-rules.ts';
import { computeIdentity } from './compute.ts';
import { eraseIdentitiesFrom } from './erase.ts';
import { rebuildIdentity } from './rebuild.ts';
import { personsOfMap, referencePersons } from './reference.test-support.ts';
import { upkeepAfterLoad } from './upkeep.ts';

/**
 * The identity graph on the strict BigQuery fake (test/fakes: BigQuery REST v2 over an in-memory DuckDB, billing
 * the documented on-demand minimums: 10 MB per table referenced per statement,
 * https://cloud.google.com/bigquery/pricing#on_demand_pricing). The loader commits each file's links to
 * `identity_edge_log` (load jobs, free); the scheduled update (`updateIdentity`) compacts what was loaded since its
 * watermark and recomputes only the components it touches.
 */
const RULES = DEFAULT_IDENTITY_RULES;
const MAP_SQL = (ds: string) =>
  `SELECT id_type, id_value, person_id, user_id, component_id, CAST(first_seen AS VARCHAR), CAST(last_seen AS VARCHAR)
   FROM \`fake-project.${ds}.identity_map\` ORDER BY id_type, id_value`;
const EDGES_SQL = (ds: string) =>
  `SELECT * FROM \`fake-project.${ds}.identity_edges\` ORDER BY a_type, a_value, b_type, b_value, kind`;
const MERGES_SQL = (ds: string) => `SELECT * FROM \`fake-project.${ds}.identity_merges\` ORDER BY ALL`;

describe('identity graph on BigQuery (strict fake)', () => {
  let bq: IdentityBigQuery;
  beforeAll(async () => {
    bq = await identityBigQuery();
  });
  afterAll(async () => {
    await bq.close();
  });

  it('incremental scheduled updates (after any subset of the files) = rebuild = the rules over the links', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            anon: fc.constantFrom('a1', 'a2', 'a3'),
            user: fc.constantFrom('u1', 'u2', 'null'),
            second: fc.integer({ min: 0, max: 5 }),
            file: fc.nat(2),
          }),
          { minLength: 1, maxLength: 7 },
        ),
        fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
        async (events, updateAfter) => {
          const datasetId = `prop${++run}`;
          for (const f of [0, 1, 2]) {
            const lines = events
              .map((e, i) => ({ e, i }))
              .filter(({ e }) => e.file === f)
              .map(({ e, i }) =>
                ident({
                  messageId: `m${i}`,
                  anonymousId: e.anon,
                  userId: e.user,
                  timestamp: `2026-01-01T00:00:0${e.second}Z`,
                }),
              );
            if (lines.length > 0) expect((await bq.load(datasetId, lines)).status).toBe('loaded');
            if (updateAfter[f]) await bq.update(datasetId, RULES);
          }
          expect((await bq.update(datasetId, RULES)).outcome).toBe('updated');
          const destination = fakeBigQueryDestination(bq.fake, { datasetId });
          const edges = await withStore(destination, (s) => s.allEdges());
          // One row per link: the generated events make one anonymous <-> user link each.
          expect(edges).toHaveLength(new Set(events.map((e) => `${e.anon}/${e.user}`)).size);
          const incremental = await bq.rows(MAP_SQL(datasetId));
          const merges = await bq.rows(MERGES_SQL(datasetId));
          const persons = personsOfMap(
            incremental.map((r) => ({ idType: String(r[0]), idValue: String(r[1]), personId: String(r[2]) })),
          );
          expect(persons).toEqual(referencePersons(edges, RULES).persons);
          expect(incremental).toHaveLength(computeIdentity(edges, RULES).map.length);
          const compacted = await bq.rows(EDGES_SQL(datasetId));
          await withStore(destination, (s) => rebuildIdentity(s, RULES));
          expect(await bq.rows(EDGES_SQL(datasetId))).toEqual(compacted);
          expect(await bq.rows(MAP_SQL(datasetId))).toEqual(incremental);
          expect(await bq.rows(MERGES_SQL(datasetId))).toEqual(merges);
        },
      ),
      { numRuns: 3 },
    );
  }, 180_000);

  it('bytes billed: a scheduled run bills its statements (10 MB per table referenced, tables under 10 MB), not per file; per-file upkeep would bill the same per file', async () => {
    const datasetId = 'cost';
    const at = (s: number) => `2026-01-01T00:00:0${s}Z`;
    await bq.load(datasetId, [ident({ messageId: 'c1', anonymousId: 'a1', userId: 'u1', timestamp: at(1) })]);
    await bq.update(datasetId, RULES);
    const second = await bq.load(datasetId, [
      ident({ messageId: 'c2', anonymousId: 'a2', userId: 'u1', timestamp: at(2) }),
      ident({ messageId: 'c3', anonymousId: 'a3', userId: 'u3', timestamp: at(3) }),
    ]);
    let mark = bq.jobMark();
    const report = await bq.update(datasetId, RULES);
    const run = bq.billedSince(mark);
    // Three more files before the next run: the run bills the same.
    for (const n of [4, 5, 6])
      await bq.load(datasetId, [
        ident({ messageId: `c${n}`, anonymousId: `a${n}`, userId: `u${n}`, timestamp: at(n) }),
      ]);
    mark = bq.jobMark();
    await bq.update(datasetId, RULES);
    const busier = bq.billedSince(mark);
    mark = bq.jobMark();
    const destination = fakeBigQueryDestination(bq.fake, { datasetId });
    await withStore(destination, (s) => upkeepAfterLoad(s, second.record.loadId, RULES));
    const perFile = bq.billedSince(mark);
    console.log(
      `identity upkeep on the BigQuery fake: scheduled run ${run / MB} MB billed (1 new file), ${busier / MB} MB (3 new files); per-file upkeep ${perFile / MB} MB per file`,
    );
    // A run: the log slice (10 MB), the MERGE (log + edges: 20 MB), one fixpoint round (components, members,
    // touching edges: 30 MB), the map transaction (5 statements over map/merges: 50 MB).
    expect(report).toMatchObject({ outcome: 'updated', components: 1 });
    expect(run).toBe((10 + 20 + 30 + 50) * MB);
    expect(busier).toBe(run);
    // Per file the same statements: far over the 30 MB per-file budget, whatever the file's size: hence a schedule.
    expect(perFile).toBeGreaterThan(30 * MB);
    const map = await bq.rows(MAP_SQL(datasetId));
    expect(new Set(map.map((r) => r[2])).size).toBe(5);
    expect(map).toHaveLength(11);
  }, 60_000);

  it('a privacy erasure removes the person from every identity table on BigQuery (DML in one transaction)', async () => {
    const datasetId = 'erase';
    await bq.load(datasetId, [
      ident({ messageId: 'e1', anonymousId: 'a1', userId: 'u1', timestamp: '2026-01-01T00:00:01Z' }),
      ident({ messageId: 'e2', anonymousId: 'a2', userId: 'u2', timestamp: '2026-01-01T00:00:02Z' }),
    ]);
    await bq.update(datasetId, RULES);
    const destination = fakeBigQueryDestination(bq.fake, { datasetId });
    await destination.open();
    const result = await eraseIdentitiesFrom(destination, [{ type: 'user_id', value: 'u1' }], RULES);
    await destination.close();
    expect(result?.erased.map((r) => r.value).sort()).toEqual(['a1', 'u1']);
    expect((await bq.rows(MAP_SQL(datasetId))).map((r) => r[1])).toEqual(['a2', 'u2']);
    const edges = await withStore(destination, (s) => s.allEdges());
    expect(edges.map((e) => e.eventId)).toEqual(['e2']);
    const log = await bq.rows(`SELECT event_id FROM \`fake-project.${datasetId}.identity_edge_log\``);
    expect(log).toEqual([['e2']]);
    // The next update does not bring the erased links back.
    await bq.update(datasetId, RULES);
    expect((await bq.rows(MAP_SQL(datasetId))).map((r) => r[1])).toEqual(['a2', 'u2']);
  }, 60_000);
});
