import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeGcp, startFakeGcp } from './fake-gcp-server.ts';

/** The parts of a job resource these tests read. */
interface JobView {
  status: { state: string; errorResult: { reason: string; message: string } };
  configuration: { query: { query: string } };
  statistics: {
    query: { totalBytesBilled: string; totalBytesProcessed: string; dmlStats: { updatedRowCount: string } };
  };
}

/** The fake's BigQuery-strict rules, each against the documented behaviour cited in fake-bigquery*.ts. */
describe('fake BigQuery is as strict as BigQuery', () => {
  let fake: FakeGcp;
  const MB = 1024 * 1024;

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${fake.url}/bigquery/v2/projects/p/${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as JobView };
  };
  const table = (tableId: string, fields: { name: string; type: string }[], extra: object = {}) =>
    call('POST', 'datasets/d/tables', {
      tableReference: { projectId: 'p', datasetId: 'd', tableId },
      schema: { fields },
      ...extra,
    });
  const query = (jobId: string, sql: string) =>
    call('POST', 'jobs', {
      jobReference: { jobId },
      configuration: { query: { query: sql, useLegacySql: false } },
    });
  const job = async (jobId: string) => (await call('GET', `jobs/${jobId}`)).body;
  const load = (
    jobId: string,
    tableId: string,
    lines: object[],
    fields: { name: string; type: string }[],
  ) => {
    const name = `${jobId}.ndjson`;
    fake.gcs.put('b', name, lines.map((l) => JSON.stringify(l)).join('\n'));
    return call('POST', 'jobs', {
      jobReference: { jobId },
      configuration: {
        load: {
          sourceUris: [`gs://b/${name}`],
          sourceFormat: 'NEWLINE_DELIMITED_JSON',
          destinationTable: { projectId: 'p', datasetId: 'd', tableId },
          schema: { fields },
          writeDisposition: 'WRITE_APPEND',
        },
      },
    });
  };
  const rows = async (sql: string) =>
    (await fake.bigquery.engine.query(sql, {})).rows.map((r) => r.f.map((c) => c.v));
  const ID = [{ name: 'id', type: 'STRING' }];

  beforeEach(async () => {
    fake = await startFakeGcp({ project: 'p' });
    await call('POST', 'datasets', { datasetReference: { datasetId: 'd' } });
    await table('ids', ID);
    await table('staged_a', ID);
    await table('staged_b', ID);
  });
  afterEach(async () => {
    await fake.close();
  });

  it('bills 10 MB per table referenced per statement, rounds up to the MB, apart from bytes processed; loads and jobs.get are free', async () => {
    await query('q1', 'SELECT * FROM `p.d.ids` JOIN `p.d.staged_a` USING (id)');
    const q1 = (await job('q1')).statistics.query;
    expect(Number(q1.totalBytesBilled)).toBe(20 * MB);
    expect(Number(q1.totalBytesProcessed)).toBe(0);
    await query('q2', 'SELECT 1 FROM `p.d.ids`; SELECT 1 FROM `p.d.ids`; SELECT 1 FROM `p.d.staged_b`');
    expect(Number((await job('q2')).statistics.query.totalBytesBilled)).toBe(30 * MB);
    fake.bigquery.bytesProcessedFor = () => 25 * MB + 1;
    await query('q3', 'SELECT * FROM `p.d.ids`');
    expect(Number((await job('q3')).statistics.query.totalBytesBilled)).toBe(26 * MB);
    fake.bigquery.bytesProcessedFor = undefined;
    await load('l1', 'ids', [{ id: 'a' }], ID);
    const l1 = await job('l1');
    expect(l1.status).toEqual({ state: 'DONE' });
    expect(l1.statistics.query).toBeUndefined();
    expect(JSON.stringify(l1.statistics)).not.toContain('Billed');
  });

  it('a job id is unique: re-inserting it answers 409 and jobs.get returns the ORIGINAL job, failure included', async () => {
    fake.bigquery.jobFailures.push({ jobId: /^j1$/, reason: 'invalid', message: 'broken', remaining: 1 });
    await query('j1', 'SELECT 1 FROM `p.d.ids`');
    const again = await query('j1', 'SELECT 2 FROM `p.d.staged_a`');
    expect(again.status).toBe(409);
    const original = await job('j1');
    expect(original.status.errorResult).toMatchObject({ reason: 'invalid', message: 'broken' });
    expect(original.configuration.query.query).toBe('SELECT 1 FROM `p.d.ids`');
  });

  it('snapshot isolation: a naive "check the index, then append" races — two concurrent jobs both insert the id', async () => {
    const naive = (from: string) =>
      `INSERT INTO \`p.d.ids\` (id) SELECT s.id FROM \`p.d.${from}\` AS s WHERE NOT EXISTS (SELECT 1 FROM \`p.d.ids\` AS i WHERE i.id = s.id)`;
    await load('la', 'staged_a', [{ id: 'x' }], ID);
    await load('lb', 'staged_b', [{ id: 'x' }], ID);
    fake.bigquery.holdJobs(/^claim_a$/);
    await query('claim_a', naive('staged_a'));
    expect(await fake.bigquery.waitForHeld(/claim_a/)).toBe('claim_a');
    expect((await job('claim_a')).status.state).toBe('RUNNING');
    await query('claim_b', naive('staged_b')); // an append: runs at once, on its own snapshot
    expect((await job('claim_b')).status.state).toBe('DONE');
    await fake.bigquery.release('claim_a');
    expect(await rows('SELECT id FROM `p.d.ids`')).toEqual([['x'], ['x']]);
  });

  it('two transactions that mutate the same table: the second is cancelled with the documented error', async () => {
    await load('l0', 'ids', [{ id: 'lock' }], ID);
    const tx = `BEGIN TRANSACTION; UPDATE \`p.d.ids\` SET id = id WHERE TRUE; COMMIT TRANSACTION`;
    fake.bigquery.holdJobs(/^t1$/);
    await query('t1', tx);
    await fake.bigquery.waitForHeld(/t1/);
    await query('t2', tx);
    expect((await job('t2')).status.errorResult).toMatchObject({
      reason: 'invalidQuery',
      message: expect.stringMatching(
        /Transaction is aborted due to concurrent update against table p:d\.ids/,
      ),
    });
    await query('t3', "BEGIN TRANSACTION; INSERT INTO `p.d.ids` (id) VALUES ('y'); COMMIT TRANSACTION");
    expect((await job('t3')).status).toEqual({ state: 'DONE' }); // appends do not conflict
    await fake.bigquery.release('t1');
    expect((await job('t1')).status).toEqual({ state: 'DONE' });
  });

  it('mutating DML outside a transaction queues behind a held one and then reads the committed state', async () => {
    await load('l0', 'ids', [{ id: 'a' }], ID);
    fake.bigquery.holdJobs(/^m1$/);
    await query('m1', "UPDATE `p.d.ids` SET id = 'b' WHERE id = 'a'");
    await fake.bigquery.waitForHeld(/m1/);
    await query('m2', "UPDATE `p.d.ids` SET id = 'c' WHERE id = 'b'");
    expect((await job('m2')).status.state).toBe('PENDING');
    expect(fake.bigquery.queued()).toEqual(['m2']);
    await fake.bigquery.release('m1');
    expect((await job('m2')).statistics.query.dmlStats.updatedRowCount).toBe('1');
    expect(await rows('SELECT id FROM `p.d.ids`')).toEqual([['c']]);
  });

  it('a transaction may mutate at most 100 tables', async () => {
    const inserts = Array.from({ length: 101 }, (_, i) => `INSERT INTO \`p.d.t${i}\` (id) VALUES ('a')`);
    for (let i = 0; i < 101; i++) await table(`t${i}`, ID);
    await query('big', `BEGIN TRANSACTION; ${inserts.join('; ')}; COMMIT TRANSACTION`);
    expect((await job('big')).status.errorResult.message).toMatch(/limit of 100 tables/);
    await query('ok', `BEGIN TRANSACTION; ${inserts.slice(0, 100).join('; ')}; COMMIT TRANSACTION`);
    expect((await job('ok')).status).toEqual({ state: 'DONE' });
  });

  it('load jobs per table per day count failed jobs; partition modifications per table per day and per job', async () => {
    fake.bigquery.limits.loadJobsPerTablePerDay = 2;
    await load('f1', 'ids', [{ id: 1 }], ID); // fails (not a STRING) but counts
    await load('f2', 'ids', [{ id: 'a' }], ID);
    await load('f3', 'ids', [{ id: 'b' }], ID);
    expect((await job('f1')).status.errorResult.reason).toBe('invalid');
    expect((await job('f2')).status).toEqual({ state: 'DONE' });
    expect((await job('f3')).status.errorResult.reason).toBe('quotaExceeded');
    const EV = [...ID, { name: 'timestamp', type: 'TIMESTAMP' }];
    await table('events', EV, { timePartitioning: { type: 'DAY', field: 'timestamp' } });
    fake.bigquery.limits.partitionModificationsPerTablePerDay = 3;
    fake.bigquery.limits.partitionsPerJob = 2;
    const day = (d: number) => ({ id: `e${d}`, timestamp: `2026-01-0${d}T00:00:00Z` });
    await load('p1', 'events', [day(1), day(2), day(3)], EV);
    expect((await job('p1')).status.errorResult.message).toMatch(/allowed 2/);
    await load('p2', 'events', [day(1), day(2)], EV);
    await load('p3', 'events', [day(3), day(4)], EV);
    expect((await job('p2')).status).toEqual({ state: 'DONE' });
    expect((await job('p3')).status.errorResult.reason).toBe('quotaExceeded');
    fake.bigquery.now = () => Date.now() + 25 * 3600 * 1000; // the quota refills over 24 hours
    await load('p4', 'events', [day(3), day(4)], EV);
    expect((await job('p4')).status).toEqual({ state: 'DONE' });
  });

  it('columns per table and row size are limited, for tables.insert, ALTER TABLE and loads', async () => {
    fake.bigquery.limits.maxColumns = 2;
    const three = [...ID, { name: 'b', type: 'STRING' }, { name: 'c', type: 'STRING' }];
    expect((await table('wide', three)).status).toBe(400);
    await query(
      'alter',
      'ALTER TABLE `p.d.ids` ADD COLUMN IF NOT EXISTS `b` STRING, ADD COLUMN IF NOT EXISTS `c` STRING',
    );
    expect((await job('alter')).status.errorResult.message).toMatch(/Too many columns/);
    fake.bigquery.limits.maxRowBytes = 20;
    await load('row', 'staged_a', [{ id: 'x'.repeat(30) }], ID);
    expect((await job('row')).status.errorResult.message).toMatch(/larger than the maximum allowed size 20/);
    await load('row2', 'staged_a', [{ id: 'short' }], ID);
    expect((await job('row2')).status).toEqual({ state: 'DONE' });
  });
});
