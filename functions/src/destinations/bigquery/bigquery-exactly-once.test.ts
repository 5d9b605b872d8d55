import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeBigQueryDestination } from '../../../test/fakes/fake-bigquery-destination.ts';
import { type FakeGcp, startFakeGcp } from '../../../test/fakes/fake-gcp-server.ts';
import {
  cellsOf,
  type Destination,
  type LoadMeta,
  type LoadRecord,
  type SchemaChange,
  type StagedRow,
  TABLES,
} from '../destination.ts';

const TABLE_NAMES = ['a_clicked', 'b_viewed', 'c_bought'];
const CREATE: SchemaChange[] = TABLE_NAMES.map((table) => ({
  kind: 'create_table',
  table,
  columns: [
    { name: 'id', type: 'STRING' },
    { name: 'timestamp', type: 'TIMESTAMP' },
    { name: 'received_at', type: 'TIMESTAMP' },
    { name: 'note', type: 'STRING' },
  ],
}));

const meta = (name: string, loadId: string): LoadMeta => ({
  loadId,
  loadKey: `raw/${name}#1`,
  bucket: 'raw',
  name,
  generation: '1',
  startedAt: new Date('2026-01-01T00:10:00Z'),
  dedupWindowMs: 24 * 3600 * 1000,
});

/** Event `id` at `line`, into the table its id names (ids `a*`, `b*`, `c*`). */
/** Ids ending in a digit d > 0 carry an event time d days before receipt (late events: more partitions). */
const row = (id: string, line: number, note = 'x'): StagedRow => {
  const late = Number(/(\d)$/.exec(id)?.[1] ?? 0);
  const timestamp = new Date(Date.parse('2026-01-01T00:00:00Z') - late * 86_400_000).toISOString();
  return {
    eventId: id,
    line,
    receivedAt: '2026-01-01T00:00:00Z',
    ...cellsOf({ id, timestamp, received_at: '2026-01-01T00:00:00Z', note }),
  };
};
const tableOf = (id: string): string => TABLE_NAMES.find((t) => t.startsWith(id[0]!))!;

async function deliver(dest: Destination, m: LoadMeta, ids: string[], crash = false): Promise<LoadRecord> {
  await dest.open();
  const found = await dest.findLoad(m.loadKey);
  if (found) return found;
  const schema = await dest.readSchema();
  const session = await dest.beginLoad(m);
  try {
    const changes = CREATE.filter((c) => !schema.has(c.table));
    await session.applySchemaChanges(changes);
    const rows = ids.map((id, i) => row(id, i + 1, 'x'.repeat(id.endsWith('big') ? 200 : 1)));
    for (const table of TABLE_NAMES) {
      await session.appendRows(
        table,
        rows.filter((r) => tableOf(r.eventId) === table),
      );
    }
    return await session.commit({
      linesRead: ids.length,
      bytesRead: 100,
      eventsStaged: ids.length,
      failed: 0,
      valuesDiscarded: 0,
      schemaChanges: changes,
      finishedAt: new Date('2026-01-01T00:10:01Z'),
    });
  } catch (error) {
    if (!crash) await session.abort().catch(() => undefined);
    throw error;
  }
}

describe('BigQuery destination: effectively-once on the strict fake', () => {
  let fake: FakeGcp;
  beforeEach(async () => {
    fake = await startFakeGcp({ project: 'x' });
  });
  afterEach(async () => {
    await fake.close();
  });

  const ids = async (table: string): Promise<string[]> => {
    const out = await fake.bigquery.engine.query(`SELECT id FROM \`x.sluice.${table}\` ORDER BY id`, {});
    return out.rows.map((r) => String(r.f[0]!.v));
  };
  const loadsRows = async (): Promise<number> => {
    const out = await fake.bigquery.engine.query(`SELECT count(*) FROM \`x.sluice.${TABLES.loads}\``, {});
    return Number(out.rows[0]!.f[0]!.v);
  };
  const allIds = async (): Promise<string[]> =>
    (await Promise.all(TABLE_NAMES.map((t) => ids(t)))).flat().sort();

  it('two concurrent loads of overlapping files leave each id once (the second claim waits for the first)', async () => {
    await deliver(fakeBigQueryDestination(fake), meta('seed', 'L0'), ['a0']); // tables and the claim lock exist
    fake.bigquery.holdJobs(/^sluice_claim_/);
    const first = deliver(fakeBigQueryDestination(fake), meta('f1', 'L1'), ['a1', 'b1', 'c1', 'a2']);
    await fake.bigquery.waitForHeld(/^sluice_claim_/);
    let secondSettled = false;
    const second = deliver(fakeBigQueryDestination(fake), meta('f2', 'L2'), ['a2', 'b1', 'c2']).finally(
      () => {
        secondSettled = true;
      },
    );
    // The second claim is a mutating DML on the same table: BigQuery queues it behind the first (a claim that
    // only inserted would instead run at once on its own snapshot, and both files would keep a2 and b1).
    await expect
      .poll(() => secondSettled || fake.bigquery.queued().length === 1, { timeout: 20_000, interval: 20 })
      .toBe(true);
    const queued = fake.bigquery.queued().length;
    const held = await fake.bigquery.waitForHeld(/^sluice_claim_/);
    await fake.bigquery.release(held);
    const [r1, r2] = await Promise.all([first, second]);
    expect(await allIds()).toEqual(['a0', 'a1', 'a2', 'b1', 'c1', 'c2']);
    expect(r1).toMatchObject({ eventsLoaded: 4, duplicates: 0 });
    expect(r2).toMatchObject({ eventsLoaded: 1, duplicates: 2 });
    expect(await loadsRows()).toBe(3);
    expect(queued).toBe(1);
  });

  it('a load rejected by a limit, the cause fixed, then a PLAIN replay (same key) loads it exactly once', async () => {
    await deliver(fakeBigQueryDestination(fake), meta('seed', 'L0'), ['a0']);
    fake.bigquery.limits.maxRowBytes = 150; // rows of `bbig` exceed it
    await expect(
      deliver(fakeBigQueryDestination(fake), meta('f', 'L1'), ['a1', 'bbig', 'c1']),
    ).rejects.toMatchObject({
      code: 'SLUICE_ERR_LOAD_DESTINATION_REJECTED',
      retryable: false,
    });
    expect(await loadsRows()).toBe(1);
    fake.bigquery.limits.maxRowBytes = 100 * 1024 * 1024; // the fix
    const record = await deliver(fakeBigQueryDestination(fake), meta('f', 'L2'), ['a1', 'bbig', 'c1']);
    expect(record).toMatchObject({ loadId: 'L1', eventsLoaded: 3, duplicates: 0 });
    expect(await allIds()).toEqual(['a0', 'a1', 'bbig', 'c1']);
    expect(await loadsRows()).toBe(2);
    // The failed load job is kept by BigQuery under its id; the replay stepped over it to the next attempt id.
    const bJobs = [...fake.bigquery.jobs.keys()].filter((id) => id.includes('_b_viewed_'));
    expect(bJobs.map((id) => id.slice(-2))).toEqual(['_0', '_1']);
  });

  const steps: { name: string; kill: RegExp; times?: number }[] = [
    { name: 'after the claim (no table loaded)', kill: /sluice_append_\w+_a_clicked_/ },
    { name: 'after 1 of 3 table loads', kill: /sluice_append_\w+_b_viewed_/ },
    { name: 'after 2 of 3 table loads', kill: /sluice_append_\w+_c_bought_/ },
    { name: 'after every table load, before the loads row', kill: /sluice_append_\w+__sluice_loads_/ },
  ];
  for (const step of steps) {
    it(`a crash ${step.name}, then a retry: exactly one complete load`, async () => {
      await deliver(fakeBigQueryDestination(fake), meta('seed', 'L0'), ['a0']);
      // The process dies when it submits this job: the request never reaches BigQuery.
      fake.faults.add({
        method: 'POST',
        path: /\/jobs$/,
        bodyMatches: step.kill,
        action: { kind: 'drop' },
        times: Number.POSITIVE_INFINITY,
      });
      let clock = 0;
      const dying = fakeBigQueryDestination(
        fake,
        { timeBudgetMs: 1_000 },
        {
          now: () => clock,
          sleep: async (ms) => {
            clock += ms;
          },
        },
      );
      await expect(deliver(dying, meta('f', 'L1'), ['a1', 'b1', 'c1', 'a2'], true)).rejects.toMatchObject({
        retryable: true,
      });
      expect(await loadsRows()).toBe(1);
      fake.faults.clear();
      const record = await deliver(fakeBigQueryDestination(fake), meta('f', 'L2'), ['a1', 'b1', 'c1', 'a2']);
      expect(record).toMatchObject({ loadId: 'L1', eventsLoaded: 4, duplicates: 0 });
      expect(await allIds()).toEqual(['a0', 'a1', 'a2', 'b1', 'c1']);
      expect(await loadsRows()).toBe(2);
      // Every table load ran once: the retry found the ones that ran (409 -> the original).
      const appends = [...fake.bigquery.jobs.keys()].filter((id) => id.startsWith('sluice_append_'));
      expect(new Set(appends.map((id) => id.replace(/_\d+$/, ''))).size).toBe(appends.length);
      // Another delivery changes nothing.
      await deliver(fakeBigQueryDestination(fake), meta('f', 'L3'), ['a1', 'b1', 'c1', 'a2']);
      expect(await allIds()).toEqual(['a0', 'a1', 'a2', 'b1', 'c1']);
      expect(await loadsRows()).toBe(2);
    });
  }

  it('the partition budget is checked at run time: a table over partitionsPerJob is split, a file over the budget rejected', async () => {
    await deliver(fakeBigQueryDestination(fake), meta('seed', 'L0'), ['a0']);
    // a1..a3 land in 3 daily partitions of a_clicked: with 2 partitions a job, two load jobs.
    await deliver(fakeBigQueryDestination(fake, { partitionsPerJob: 2 }), meta('f', 'L1'), [
      'a1',
      'a2',
      'a3',
    ]);
    const jobs = [...fake.bigquery.jobs.keys()].filter(
      (id) => /_a_clicked_/.test(id) && !id.includes('_seed'),
    );
    expect(jobs).toHaveLength(3); // the seed's, then two for the three partitions
    expect(await ids('a_clicked')).toEqual(['a0', 'a1', 'a2', 'a3']);
    expect(fake.bigquery.quotas.partitionModificationsToday('sluice.a_clicked')).toBe(4);
    // A file whose jobs would modify more partitions than the per-file budget is rejected before any append.
    await expect(
      deliver(fakeBigQueryDestination(fake, { maxPartitionsPerFile: 3 }), meta('g', 'L2'), [
        'a4',
        'a5',
        'b6',
        'c7',
      ]),
    ).rejects.toMatchObject({ code: 'SLUICE_ERR_LOAD_DESTINATION_REJECTED', retryable: false });
    expect(await allIds()).toEqual(['a0', 'a1', 'a2', 'a3']);
    expect(fake.bigquery.quotas.partitionModificationsToday('sluice.a_clicked')).toBe(4);
  });
});
