import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeBigQueryDestination } from '../../test/fakes/fake-bigquery-destination.ts';
import { type FakeGcp, startFakeGcp } from '../../test/fakes/fake-gcp-server.ts';
import { withStore } from '../../test/helpers/identity.ts';
import { DEFAULT_SETTINGS } from '../../test/helpers/warehouse.ts';
import { loadObject } from '../load/load-object.ts';
import { createLogger } from '../logger.ts';
import { DEFAULT_IDENTITY_RULES } from '../schema/identity-rules.ts';
import { localDirectoryStore } from '../storage/local-directory.ts';
import { computeIdentity } from './compute.ts';
import { eraseIdentitiesFrom } from './erase.ts';
import { rebuildIdentity } from './rebuild.ts';
import { personsOfMap, referencePersons } from './reference.test-support.ts';
import { recomputeAll, upkeepAfterLoad } from './upkeep.ts';

/**
 * The identity graph on the strict BigQuery fake (test/fakes: BigQuery REST v2 over an in-memory DuckDB, billing
 * the documented on-demand minimums: 10 MB per table referenced per statement,
 * https://cloud.google.com/bigquery/pricing#on_demand_pricing). The loader commits each file's edges (load jobs,
 * free); the map is updated on a schedule (`npm run identity -- update`), because a per-file update bills 10 MB per
 * statement and table (measured below).
 */
const MB = 1024 * 1024;
const RULES = DEFAULT_IDENTITY_RULES;
const MAP_SQL = (ds: string) =>
  `SELECT id_type, id_value, person_id, user_id, component_id FROM \`fake-project.${ds}.identity_map\` ORDER BY id_type, id_value`;

describe('identity graph on BigQuery (strict fake)', () => {
  let fake: FakeGcp;
  let dir: string;
  beforeAll(async () => {
    fake = await startFakeGcp();
    dir = await mkdtemp(path.join(tmpdir(), 'sluice-identity-bq-'));
  });
  afterAll(async () => {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  let files = 0;
  const load = async (datasetId: string, lines: string[]) => {
    const name = `f${++files}.ndjson`;
    await mkdir(path.join(dir, 'raw'), { recursive: true });
    await writeFile(path.join(dir, 'raw', name), `${lines.join('\n')}\n`);
    return loadObject(
      {
        store: localDirectoryStore(dir),
        destination: fakeBigQueryDestination(fake, { datasetId }),
        settings: DEFAULT_SETTINGS,
        logger: createLogger('silent'),
      },
      { bucket: 'raw', name, generation: '1' },
    );
  };
  const billedSince = (mark: number): number =>
    [...fake.bigquery.jobs.entries()]
      .slice(mark)
      .filter(([id]) => id.startsWith('sluice_identity_'))
      .reduce((sum, [, j]) => sum + (j.result?.bytesBilled ?? 0), 0);
  const ev = (o: Record<string, unknown>) =>
    JSON.stringify({ type: 'identify', context: {}, receivedAt: '2026-01-01T00:00:00Z', traits: {}, ...o });

  it('scheduled update = rebuild = the rules over the committed edges, for random events split into files', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            anon: fc.constantFrom('a1', 'a2', 'a3'),
            user: fc.constantFrom('u1', 'u2', 'null'),
            second: fc.integer({ min: 0, max: 5 }),
            file: fc.nat(1),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        async (events) => {
          const datasetId = `prop${++run}`;
          for (const f of [0, 1]) {
            const lines = events
              .map((e, i) => ({ e, i }))
              .filter(({ e }) => e.file === f)
              .map(({ e, i }) =>
                ev({
                  messageId: `m${i}`,
                  anonymousId: e.anon,
                  userId: e.user,
                  timestamp: `2026-01-01T00:00:0${e.second}Z`,
                }),
              );
            if (lines.length > 0) expect((await load(datasetId, lines)).status).toBe('loaded');
          }
          const destination = fakeBigQueryDestination(fake, { datasetId });
          const edges = await withStore(destination, async (s) => {
            await recomputeAll(s, RULES);
            return s.allEdges();
          });
          expect(edges).toHaveLength(events.length);
          const scheduled = (await fake.bigquery.engine.query(MAP_SQL(datasetId), {})).rows;
          const persons = personsOfMap(
            scheduled.map((r) => ({
              idType: String(r.f[0]?.v),
              idValue: String(r.f[1]?.v),
              personId: String(r.f[2]?.v),
            })),
          );
          expect(persons).toEqual(referencePersons(edges, RULES).persons);
          expect(scheduled).toHaveLength(computeIdentity(edges, RULES).map.length);
          await withStore(destination, (s) => rebuildIdentity(s, RULES));
          expect((await fake.bigquery.engine.query(MAP_SQL(datasetId), {})).rows).toEqual(scheduled);
        },
      ),
      { numRuns: 2 },
    );
  }, 120_000);

  it('bytes billed: a per-file upkeep bills >= 10 MB per statement and table (over the 30 MB budget); the scheduled update bills 10 MB per run', async () => {
    const datasetId = 'cost';
    expect(
      (
        await load(datasetId, [
          ev({ messageId: 'c1', anonymousId: 'a1', userId: 'u1', timestamp: '2026-01-01T00:00:01Z' }),
        ])
      ).status,
    ).toBe('loaded');
    const second = await load(datasetId, [
      ev({ messageId: 'c2', anonymousId: 'a2', userId: 'u1', timestamp: '2026-01-01T00:00:02Z' }),
    ]);
    const destination = fakeBigQueryDestination(fake, { datasetId });
    await withStore(destination, (s) => recomputeAll(s, RULES));
    let mark = fake.bigquery.jobs.size;
    await withStore(destination, (s) => recomputeAll(s, RULES));
    const scheduled = billedSince(mark);
    mark = fake.bigquery.jobs.size;
    await withStore(destination, (s) => upkeepAfterLoad(s, second.record.loadId, RULES));
    const perFile = billedSince(mark);
    console.log(
      `identity upkeep on the BigQuery fake: per file ${perFile / MB} MB billed; scheduled run ${scheduled / MB} MB billed`,
    );
    // The scheduled update: one SELECT of identity_edges (10 MB minimum) and free load jobs.
    expect(scheduled).toBe(10 * MB);
    // Per file: the load's edges, the ids' components, their members, the touching edges, the transaction
    // writing the map: far over 30 MB for one file, whatever its size.
    expect(perFile).toBeGreaterThan(30 * MB);
    const map = (await fake.bigquery.engine.query(MAP_SQL(datasetId), {})).rows;
    expect(new Set(map.map((r) => r.f[2]?.v)).size).toBe(1);
    expect(map).toHaveLength(3);
  }, 60_000);

  it('a privacy erasure removes the person from the graph on BigQuery too (DML in one transaction)', async () => {
    const datasetId = 'erase';
    await load(datasetId, [
      ev({ messageId: 'e1', anonymousId: 'a1', userId: 'u1', timestamp: '2026-01-01T00:00:01Z' }),
      ev({ messageId: 'e2', anonymousId: 'a2', userId: 'u2', timestamp: '2026-01-01T00:00:02Z' }),
    ]);
    const destination = fakeBigQueryDestination(fake, { datasetId });
    await withStore(destination, (s) => recomputeAll(s, RULES));
    await destination.open();
    const result = await eraseIdentitiesFrom(destination, [{ type: 'user_id', value: 'u1' }], RULES);
    expect(result?.erased.map((r) => r.value).sort()).toEqual(['a1', 'u1']);
    const map = (await fake.bigquery.engine.query(MAP_SQL(datasetId), {})).rows.map((r) => r.f[1]?.v);
    expect(map).toEqual(['a2', 'u2']);
    const edges = await withStore(destination, (s) => s.allEdges());
    expect(edges.map((e) => e.eventId)).toEqual(['e2']);
  }, 60_000);
});
