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
} from '../destination.ts';

const M: LoadMeta = {
  loadId: 'load-1',
  loadKey: 'raw/raw/2024-05-01/10_00_00+00:00_aaaaaaaa.ndjson#17',
  bucket: 'raw',
  name: 'raw/2024-05-01/10_00_00+00:00_aaaaaaaa.ndjson',
  generation: '17',
  startedAt: new Date('2024-05-01T10:00:00Z'),
  dedupWindowMs: 24 * 3600 * 1000,
};

const CREATE: SchemaChange = {
  kind: 'create_table',
  table: 'pages',
  columns: [
    { name: 'id', type: 'STRING' },
    { name: 'timestamp', type: 'TIMESTAMP' },
    { name: 'received_at', type: 'TIMESTAMP' },
  ],
};

const ROWS: StagedRow[] = ['p1', 'p2', 'p3'].map((id, i) => ({
  eventId: id,
  line: i + 1,
  receivedAt: '2024-05-01T09:00:00.000Z',
  ...cellsOf({ id, timestamp: '2024-05-01T08:59:00.000Z', received_at: '2024-05-01T09:00:00.000Z' }),
}));

/** The loader's lifecycle for one delivery (open, findLoad, readSchema, beginLoad, apply, append, commit). */
async function deliver(dest: Destination, meta: LoadMeta = M, crash = false): Promise<LoadRecord> {
  await dest.open();
  const found = await dest.findLoad(meta.loadKey);
  if (found) return found;
  const schema = await dest.readSchema();
  const session = await dest.beginLoad(meta);
  try {
    const changes = schema.has('pages') ? [] : [CREATE];
    await session.applySchemaChanges(changes);
    await session.appendRows('pages', ROWS);
    return await session.commit({
      linesRead: 3,
      bytesRead: 300,
      eventsStaged: 3,
      failed: 0,
      valuesDiscarded: 0,
      schemaChanges: changes,
      finishedAt: new Date('2024-05-01T10:00:01Z'),
    });
  } catch (error) {
    // A killed process (crash = true) never aborts; the loader aborts on a thrown error.
    if (!crash) await session.abort().catch(() => undefined);
    throw error;
  }
}

async function pageIds(fake: FakeGcp): Promise<string[]> {
  const out = await fake.bigquery.engine.query('SELECT id FROM `x.sluice.pages` ORDER BY id', {});
  return out.rows.map((r) => String(r.f[0]!.v));
}

const executedJobs = (fake: FakeGcp, prefix: string): string[] =>
  [...fake.bigquery.jobs.keys()].filter((id) => id.startsWith(prefix));

describe('BigQuery destination under injected faults', () => {
  let fake: FakeGcp;
  beforeEach(async () => {
    fake = await startFakeGcp({ project: 'proj' });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('409 duplicate: a job created but whose response was lost is looked up, not run twice', async () => {
    // The server creates the load job and the commit job, then the connection drops before the answer.
    fake.faults.add({
      method: 'POST',
      path: /\/jobs$/,
      bodyMatches: /sluice_append_[0-9a-f]{24}_pages_[0-9a-f]{16}_0/,
      action: { kind: 'drop-after' },
    });
    fake.faults.add({
      method: 'POST',
      path: /\/jobs$/,
      bodyMatches: /sluice_claim_/,
      action: { kind: 'drop-after' },
    });
    const record = await deliver(fakeBigQueryDestination(fake));
    expect(fake.faults.hits()).toEqual([1, 1]);
    expect(executedJobs(fake, 'sluice_claim_')).toHaveLength(1);
    expect(record).toMatchObject({ eventsLoaded: 3, duplicates: 0 });
    const inserts = fake.jobInserts().filter((j) => /sluice_(append_\w+_pages|claim)_/.test(j.jobId));
    expect(inserts.map((j) => [j.jobId.replace(/[0-9a-f]{16,}/g, 'H'), j.status])).toEqual([
      ['sluice_claim_H_H_0', 0],
      ['sluice_claim_H_H_0', 409],
      ['sluice_append_H_pages_H_0', 0],
      ['sluice_append_H_pages_H_0', 409],
    ]);
    expect(executedJobs(fake, 'sluice_append_').filter((id) => id.includes('_pages_'))).toHaveLength(1);
    expect(await pageIds(fake)).toEqual(['p1', 'p2', 'p3']);
  });

  it('429 rateLimitExceeded and 503 backendError, then success: retried with backoff', async () => {
    fake.faults.status(429, 'rateLimitExceeded', {
      method: 'POST',
      path: /\/jobs$/,
      bodyMatches: /sluice_append_[0-9a-f]{24}_pages_[0-9a-f]{16}_0/,
      times: 2,
    });
    fake.faults.status(503, 'backendError', { method: 'GET', path: /\/jobs\/sluice_claim_/ });
    fake.faults.status(503, 'backendError', { path: /\/upload\/storage/ });
    const sleeps: number[] = [];
    const dest = fakeBigQueryDestination(
      fake,
      {},
      {
        sleep: async (ms) => {
          sleeps.push(ms);
        },
        random: () => 1,
      },
    );
    expect(await deliver(dest)).toMatchObject({ eventsLoaded: 3 });
    expect(fake.faults.hits()).toEqual([2, 1, 1]);
    // exponential: 5, 10 ms for the two 429s (initial 5 ms, jitter pinned to 1)
    expect(sleeps.filter((ms) => ms >= 5)).toEqual(expect.arrayContaining([5, 10]));
    expect(await pageIds(fake)).toEqual(['p1', 'p2', 'p3']);
  });

  it('a job that fails with backendError inside BigQuery is re-run under the next deterministic id', async () => {
    fake.bigquery.jobFailures.push({
      jobId: /^sluice_append_[0-9a-f]{24}_pages_[0-9a-f]{16}_0$/,
      reason: 'backendError',
      message: 'transient',
      remaining: 1,
    });
    expect(await deliver(fakeBigQueryDestination(fake))).toMatchObject({ eventsLoaded: 3 });
    expect(fake.bigquery.jobFailures.map((f) => f.remaining)).toEqual([0]);
    const pagesJobs = executedJobs(fake, 'sluice_append_').filter((id) => id.includes('_pages_'));
    expect(pagesJobs.map((id) => id.replace(/[0-9a-f]{16,}/g, 'H'))).toEqual([
      'sluice_append_H_pages_H_0',
      'sluice_append_H_pages_H_1',
    ]);
    expect(await pageIds(fake)).toEqual(['p1', 'p2', 'p3']);
  });

  it('a claim that conflicts with a concurrent one (invalidQuery + that message) is retried; other invalidQuery is not', async () => {
    fake.bigquery.jobFailures.push({
      jobId: /^sluice_claim_/,
      reason: 'invalidQuery',
      message: 'Could not serialize access to table proj:sluice._sluice_event_ids due to concurrent update',
      remaining: 1,
    });
    expect(await deliver(fakeBigQueryDestination(fake))).toMatchObject({ eventsLoaded: 3 });
    expect(executedJobs(fake, 'sluice_claim_').map((id) => id.slice(-2))).toEqual(['_0', '_1']);
    const commitsBefore = executedJobs(fake, 'sluice_claim_').length;
    fake.bigquery.jobFailures.push({
      jobId: /^sluice_claim_/,
      reason: 'invalidQuery',
      message: 'Syntax error: Unexpected keyword',
      remaining: 1,
    });
    await expect(
      deliver(fakeBigQueryDestination(fake), { ...M, loadKey: `${M.loadKey}-2` }),
    ).rejects.toMatchObject({
      code: 'SLUICE_ERR_LOAD_DESTINATION_REJECTED',
    });
    // The injected syntax error was hit, and its commit job ran once: not retried under a next id.
    expect(fake.bigquery.jobFailures.map((f) => f.remaining)).toEqual([0, 0]);
    expect(executedJobs(fake, 'sluice_claim_')).toHaveLength(commitsBefore + 1);
  });

  it('400 invalid is not retried: a non-retryable REJECTED error, nothing committed', async () => {
    fake.faults.status(400, 'invalid', { method: 'POST', path: /\/jobs$/, bodyMatches: /sluice_claim_/ });
    await expect(deliver(fakeBigQueryDestination(fake))).rejects.toMatchObject({
      code: 'SLUICE_ERR_LOAD_DESTINATION_REJECTED',
      retryable: false,
    });
    expect(fake.faults.hits()).toEqual([1]);
    expect(await pageIds(fake)).toEqual([]);
    fake.bigquery.jobFailures.push({
      jobId: /^sluice_append_/,
      reason: 'invalid',
      message: 'bad row',
      remaining: 1,
    });
    await expect(
      deliver(fakeBigQueryDestination(fake), { ...M, loadKey: `${M.loadKey}x` }),
    ).rejects.toMatchObject({
      code: 'SLUICE_ERR_LOAD_DESTINATION_REJECTED',
    });
    expect(fake.bigquery.jobFailures.map((f) => f.remaining)).toEqual([0]);
    expect(await pageIds(fake)).toEqual([]);
  });

  it('persistent 503 past the time budget: a retryable UNAVAILABLE error', async () => {
    fake.faults.status(503, 'backendError', { path: /\/datasets/, times: Number.POSITIVE_INFINITY });
    let clock = 0;
    const dest = fakeBigQueryDestination(
      fake,
      { timeBudgetMs: 1_000 },
      {
        now: () => clock,
        sleep: async (ms) => {
          clock += ms;
        },
        random: () => 1,
      },
    );
    await expect(dest.open()).rejects.toMatchObject({
      code: 'SLUICE_ERR_LOAD_DESTINATION_UNAVAILABLE',
      retryable: true,
    });
    expect(clock).toBeLessThan(1_000);
    expect(fake.faults.hits()[0]).toBeGreaterThan(3);
  });

  for (const crash of [true, false]) {
    it(`${crash ? 'a crash (process killed)' : 'a retryable failure (session aborted)'} after the claim, before the table loads, then a retry: exactly one complete load`, async () => {
      // First delivery: the table's load job cannot be submitted (connection drops) until the budget runs out.
      fake.faults.add({
        method: 'POST',
        path: /\/jobs$/,
        bodyMatches: /sluice_append_/,
        action: { kind: 'drop' },
        times: Number.POSITIVE_INFINITY,
      });
      let clock = 0;
      const first = fakeBigQueryDestination(
        fake,
        { timeBudgetMs: 2_000 },
        {
          now: () => clock,
          sleep: async (ms) => {
            clock += ms;
          },
        },
      );
      await expect(deliver(first, M, crash)).rejects.toMatchObject({ retryable: true });
      expect(fake.faults.hits()[0]).toBeGreaterThan(0);
      expect(executedJobs(fake, 'sluice_claim_')).toHaveLength(1);
      expect(await pageIds(fake)).toEqual([]);

      // Retry (a new function instance, a new load id): it adopts the first delivery's load id and claims.
      fake.faults.clear();
      const record = await deliver(fakeBigQueryDestination(fake), { ...M, loadId: 'load-2' });
      expect(record).toMatchObject({ loadId: 'load-1', eventsLoaded: 3, duplicates: 0, linesRead: 3 });
      const claims = fake.jobInserts().filter((j) => j.jobId.startsWith('sluice_claim_'));
      expect(claims.map((j) => j.status)).toEqual([200, 409]);
      expect(await pageIds(fake)).toEqual(['p1', 'p2', 'p3']);
      const loads = await fake.bigquery.engine.query('SELECT count(*) FROM `x.sluice._sluice_loads`', {});
      expect(loads.rows[0]!.f[0]!.v).toBe('1');

      // A third delivery of the same file is a no-op.
      await deliver(fakeBigQueryDestination(fake), { ...M, loadId: 'load-3' });
      expect(await pageIds(fake)).toEqual(['p1', 'p2', 'p3']);
      expect(executedJobs(fake, 'sluice_claim_')).toHaveLength(1);
    });
  }

  it('polls jobs until DONE', async () => {
    fake.bigquery.pendingPollsPerJob = 2;
    expect(await deliver(fakeBigQueryDestination(fake))).toMatchObject({ eventsLoaded: 3 });
    const polls = fake.requests.filter((r) => r.method === 'GET' && /\/jobs\/sluice_claim_/.test(r.path));
    expect(polls).toHaveLength(3);
  });
});
