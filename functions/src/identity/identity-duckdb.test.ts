import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { withStore } from '../../test/helpers/identity.ts';
import { type TestWarehouse, testWarehouse } from '../../test/helpers/warehouse.ts';
import { DEFAULT_CONTRACTS } from '../schema/contracts.ts';
import { DEFAULT_IDENTITY_RULES, type IdentityRules } from '../schema/identity-rules.ts';
import { computeIdentity, type GraphEdge } from './compute.ts';
import { eraseIdentities } from './erase.ts';
import { rebuildIdentity } from './rebuild.ts';
import { personsOfMap, referencePersons } from './reference.test-support.ts';

const MAP_SQL = `SELECT id_type, id_value, person_id, user_id, component_id,
  strftime(first_seen, '%Y-%m-%dT%H:%M:%S.%f') AS f, strftime(last_seen, '%Y-%m-%dT%H:%M:%S.%f') AS l
  FROM identity_map ORDER BY ALL`;
const MERGES_SQL =
  'SELECT * EXCLUDE (timestamp), CAST(timestamp AS VARCHAR) AS t FROM identity_merges ORDER BY ALL';
const EDGES_SQL =
  'SELECT * EXCLUDE (first_seen, last_seen), CAST(first_seen AS VARCHAR) AS f, CAST(last_seen AS VARCHAR) AS l FROM identity_edges ORDER BY ALL';
const LOG_SQL =
  'SELECT * EXCLUDE (loaded_at, event_at, received_at, _sluice_load_id), CAST(event_at AS VARCHAR) AS t FROM identity_edge_log ORDER BY ALL';
const LINKS_SQL = `SELECT count(*) AS n FROM (SELECT DISTINCT a_type, a_value, b_type, b_value, kind = 'alias'
  FROM identity_edge_log)`;

interface Ev {
  type: 'identify' | 'track' | 'alias' | 'page';
  messageId: string;
  anonymousId?: string;
  userId?: string;
  previousId?: string;
  second: number;
}

const evArb: fc.Arbitrary<Ev> = fc.record({
  type: fc.constantFrom('identify', 'track', 'alias', 'page', 'identify'),
  messageId: fc.constantFrom('m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9'),
  anonymousId: fc.option(fc.constantFrom('a1', 'a2', 'a3', '0'), { nil: undefined }),
  userId: fc.option(fc.constantFrom('u1', 'u2', 'u3', 'null'), { nil: undefined }),
  previousId: fc.option(fc.constantFrom('a1', 'u1', 'u2'), { nil: undefined }),
  second: fc.integer({ min: 0, max: 9 }),
});

function line(e: Ev): string {
  const at = `2026-01-01T00:00:0${e.second}.000Z`;
  const base: Record<string, unknown> = {
    type: e.type,
    messageId: e.messageId,
    timestamp: at,
    receivedAt: at,
    sentAt: at,
    context: {},
  };
  if (e.anonymousId !== undefined) base.anonymousId = e.anonymousId;
  if (e.userId !== undefined) base.userId = e.userId;
  if (e.type === 'track') base.event = 'Clicked';
  if (e.type === 'alias') {
    base.userId = e.userId ?? 'u3';
    base.previousId = e.previousId ?? 'a2';
  }
  if (e.userId === undefined && e.anonymousId === undefined && e.type !== 'alias') base.anonymousId = 'a3';
  return JSON.stringify(base);
}

describe('identity graph on DuckDB: incremental (per file) = rebuild = the rules over the edges', () => {
  let wh: TestWarehouse | undefined;
  afterEach(async () => {
    await wh?.cleanup();
    wh = undefined;
  });

  it('for random events split into random files, any order', async () => {
    const rules: IdentityRules = { ...DEFAULT_IDENTITY_RULES, blockedValues: [] };
    await fc.assert(
      fc.asyncProperty(
        fc.array(evArb, { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(2), { minLength: 12, maxLength: 12 }),
        async (events, fileOf) => {
          const w = await testWarehouse();
          try {
            const files = new Map<number, string[]>();
            events.forEach((e, i) => {
              const f = fileOf[i] ?? 0;
              files.set(f, [...(files.get(f) ?? []), line(e)]);
            });
            for (const [f, lines] of files) {
              await w.put(`f${f}.ndjson`, `${lines.join('\n')}\n`);
              const outcome = await w.load(`f${f}.ndjson`);
              expect(outcome.status).toBe('loaded');
            }
            const graphTables = await w.query(
              "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'identity_edge_log'",
            );
            if (Number(graphTables[0]?.n ?? 0) === 0) {
              // No event linked two ids: by design no identity table exists before the first link. A rebuild from
              // the event tables must agree: it finds no edge either.
              await withStore(w.destination(), (s) => rebuildIdentity(s, rules));
              expect(await w.query(EDGES_SQL)).toEqual([]);
              expect(await w.query(LOG_SQL)).toEqual([]);
              expect(await w.query(MAP_SQL)).toEqual([]);
              return;
            }
            const incremental = { map: await w.query(MAP_SQL), merges: await w.query(MERGES_SQL) };
            const edgesBefore = await w.query(EDGES_SQL);
            const logBefore = await w.query(LOG_SQL);
            // One row per link in identity_edges (the per-event rows stay in the log).
            expect(edgesBefore).toHaveLength(Number((await w.query(LINKS_SQL))[0]?.n));
            const edges: GraphEdge[] = await withStore(w.destination(), (s) => s.allEdges());
            // The map holds the persons of the independent model over the committed edges.
            const model = referencePersons(edges, rules);
            expect(
              personsOfMap(
                incremental.map.map((r) => ({
                  idType: String(r.id_type),
                  idValue: String(r.id_value),
                  personId: String(r.person_id),
                })),
              ),
            ).toEqual(model.persons);
            expect(incremental.merges.filter((m) => m.action === 'rejected_user_limit')).toHaveLength(
              model.flagged,
            );
            // A rebuild from the event tables gives the same edges, map and merge log.
            await withStore(w.destination(), (s) => rebuildIdentity(s, rules));
            expect(await w.query(EDGES_SQL)).toEqual(edgesBefore);
            expect(await w.query(LOG_SQL)).toEqual(logBefore);
            expect(await w.query(MAP_SQL)).toEqual(incremental.map);
            expect(await w.query(MERGES_SQL)).toEqual(incremental.merges);
            expect(computeIdentity(edges, rules).map).toHaveLength(incremental.map.length);
          } finally {
            await w.cleanup();
          }
        },
      ),
      { numRuns: 4 },
    );
  }, 120_000);

  it('a privacy erasure removes the person from the graph and leaves the rest as a rebuild without it would', async () => {
    wh = await testWarehouse();
    const at = (s: number) => `2026-01-01T00:00:0${s}.000Z`;
    const ev = (o: Record<string, unknown>) => JSON.stringify({ context: {}, receivedAt: at(0), ...o });
    await wh.put(
      'f.ndjson',
      `${[
        ev({ type: 'identify', messageId: 'i1', anonymousId: 'a1', userId: 'u1', timestamp: at(1) }),
        ev({ type: 'identify', messageId: 'i2', anonymousId: 'a2', userId: 'u1', timestamp: at(2) }),
        ev({ type: 'identify', messageId: 'i3', anonymousId: 'a1', userId: 'u2', timestamp: at(3) }),
        ev({ type: 'identify', messageId: 'i4', anonymousId: 'a3', userId: 'u2', timestamp: at(4) }),
      ].join('\n')}\n`,
    );
    await wh.load('f.ndjson');
    const result = await withStore(wh.destination(), (s) =>
      eraseIdentities(
        s,
        [{ type: 'user_id', value: 'u1' }],
        DEFAULT_CONTRACTS.identity ?? DEFAULT_IDENTITY_RULES,
      ),
    );
    expect(result.erased.map((r) => `${r.type}:${r.value}`).sort()).toEqual([
      'anonymous_id:a1',
      'anonymous_id:a2',
      'user_id:u1',
    ]);
    const ids = await wh.query("SELECT id_type || ':' || id_value AS id FROM identity_map ORDER BY 1");
    expect(ids).toEqual([{ id: 'anonymous_id:a3' }, { id: 'user_id:u2' }]);
    const mentions = await wh.query(
      "SELECT count(*) AS n FROM identity_edges WHERE 'u1' IN (a_value, b_value) OR 'a1' IN (a_value, b_value) OR 'a2' IN (a_value, b_value)",
    );
    expect(mentions).toEqual([{ n: '0' }]);
    expect(
      await wh.query(
        "SELECT count(*) AS n FROM identity_edge_log WHERE 'u1' IN (a_value, b_value) OR 'a1' IN (a_value, b_value) OR 'a2' IN (a_value, b_value)",
      ),
    ).toEqual([{ n: '0' }]);
    expect(
      await wh.query("SELECT count(*) AS n FROM identity_merges WHERE 'u1' IN (a_value, b_value)"),
    ).toEqual([{ n: '0' }]);
    expect(await wh.query("SELECT count(*) AS n FROM persons WHERE list_contains(user_ids, 'u1')")).toEqual([
      { n: '0' },
    ]);
    // What remains equals a recompute of the remaining edges.
    const before = await wh.query(MAP_SQL);
    await withStore(wh.destination(), async (s) =>
      s.replaceAll(computeIdentity(await s.allEdges(), DEFAULT_IDENTITY_RULES)),
    );
    expect(await wh.query(MAP_SQL)).toEqual(before);
  });

  it('map rows keep the instant of a timestamp in any offset (the appender reads only UTC text right)', async () => {
    wh = await testWarehouse();
    await withStore(wh.destination(), async (s) => {
      await s.ensure(DEFAULT_IDENTITY_RULES);
      const row = (value: string, firstSeen: string, lastSeen: string) => ({
        idType: 'user_id',
        idValue: value,
        personId: 'p_1',
        userId: value,
        componentId: 'c_1',
        firstSeen,
        lastSeen,
        listed: true,
      });
      await s.replaceComponents(['c_1'], [], {
        map: [
          row('u1', '2026-01-01T05:00:00.1+02:00', '2026-01-01T03:00:00.123456Z'),
          row('u2', '2026-01-01 03:00:00.5-01', '2026-01-01T03:00:00Z'),
        ],
        merges: [],
      });
    });
    expect(
      await wh.query(
        "SELECT id_value, strftime(first_seen AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%f') AS f, strftime(last_seen AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%f') AS l FROM identity_map ORDER BY 1",
      ),
    ).toEqual([
      { id_value: 'u1', f: '2026-01-01T03:00:00.100000', l: '2026-01-01T03:00:00.123456' },
      { id_value: 'u2', f: '2026-01-01T04:00:00.500000', l: '2026-01-01T03:00:00.000000' },
    ]);
  });
});
