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
import { BIGQUERY_CAPABILITIES } from './capabilities.ts';

function meta(n: number): LoadMeta {
  return {
    loadId: `load-${n}`,
    loadKey: `raw/f${n}#1`,
    bucket: 'raw',
    name: `f${n}`,
    generation: '1',
    startedAt: new Date('2026-02-01T00:00:00Z'),
    dedupWindowMs: 3600 * 1000,
  };
}

async function deliver(
  dest: Destination,
  m: LoadMeta,
  changes: SchemaChange[],
  rows: Record<string, StagedRow[]>,
): Promise<LoadRecord> {
  await dest.open();
  await dest.readSchema();
  const session = await dest.beginLoad(m);
  await session.applySchemaChanges(changes);
  let staged = 0;
  for (const [table, list] of Object.entries(rows)) {
    await session.appendRows(table, list);
    staged += list.length;
  }
  return session.commit({
    linesRead: staged,
    bytesRead: 1,
    eventsStaged: staged,
    failed: 0,
    valuesDiscarded: 0,
    schemaChanges: changes,
    finishedAt: new Date('2026-02-01T00:00:01Z'),
  });
}

const user = (
  id: string,
  eventId: string,
  line: number,
  receivedAt: string,
  traits: Record<string, string | null>,
): StagedRow => ({
  eventId,
  line,
  receivedAt,
  ...cellsOf({ id, received_at: receivedAt, ...traits }),
});

async function rows(fake: FakeGcp, sql: string): Promise<unknown[][]> {
  return (await fake.bigquery.engine.query(sql, {})).rows.map((r) => r.f.map((c) => c.v));
}

describe('BigQuery schema evolution and users upsert (over the fake)', () => {
  let fake: FakeGcp;
  let dest: Destination;
  beforeEach(async () => {
    fake = await startFakeGcp({ project: 'p' });
    dest = fakeBigQueryDestination(fake);
  });
  afterEach(async () => {
    await fake.close();
  });

  it('capabilities are data: 300-char names, case-insensitive, reserved prefixes, widening INT64 -> FLOAT64', () => {
    expect(BIGQUERY_CAPABILITIES).toMatchObject({
      name: 'bigquery',
      maxColumnNameLength: 300,
      caseInsensitiveNames: true,
      canWidenIntToFloat: true,
      maxColumns: 10_000,
    });
    expect(BIGQUERY_CAPABILITIES.reservedColumnPrefixes).toEqual(
      expect.arrayContaining(['_table_', '_file_', '_partition']),
    );
    // Reserved keywords are legal quoted column names: none is renamed (issue 14 item 10, sql-reserved-words.ts).
    expect(BIGQUERY_CAPABILITIES.reservedWords).toEqual([]);
  });

  it('adds columns in ONE ALTER TABLE per table and widens INT64 to FLOAT64 in place', async () => {
    const create: SchemaChange = {
      kind: 'create_table',
      table: 'signup',
      columns: [
        { name: 'id', type: 'STRING' },
        { name: 'timestamp', type: 'TIMESTAMP' },
        { name: 'amount', type: 'INT64' },
      ],
    };
    const row = (
      id: string,
      values: Record<string, string | number | bigint | boolean | null>,
    ): StagedRow => ({
      eventId: id,
      line: 1,
      receivedAt: '2026-02-01T00:00:00.000Z',
      ...cellsOf({ id, timestamp: '2026-02-01T00:00:00.000Z', ...values }),
    });
    await deliver(dest, meta(1), [create], { signup: [row('a', { amount: 3 })] });
    const evolve: SchemaChange[] = [
      { kind: 'add_column', table: 'signup', column: 'plan', type: 'STRING' },
      { kind: 'add_column', table: 'signup', column: 'meta', type: 'JSON' },
      { kind: 'add_column', table: 'signup', column: 'big', type: 'INT64' },
      { kind: 'widen_column', table: 'signup', column: 'amount', from: 'INT64', to: 'FLOAT64' },
    ];
    const record = await deliver(dest, meta(2), evolve, {
      signup: [row('b', { amount: 2.5, plan: 'pro', meta: '{"k":[1,2]}', big: 9007199254740993n })],
    });
    expect(record.eventsLoaded).toBe(1);
    const ddl = fake
      .jobInserts()
      .filter((j) => j.jobId.startsWith('sluice_ddl_'))
      .map((j) => (j.configuration.query as { query: string }).query);
    expect(ddl).toEqual([
      'ALTER TABLE `p.sluice.signup` ADD COLUMN IF NOT EXISTS `plan` STRING, ADD COLUMN IF NOT EXISTS `meta` JSON, ADD COLUMN IF NOT EXISTS `big` INT64;\n' +
        'ALTER TABLE `p.sluice.signup` ALTER COLUMN `amount` SET DATA TYPE FLOAT64;',
    ]);
    const schema = await dest.readSchema();
    expect(Object.fromEntries(schema.get('signup')!)).toEqual({
      id: 'STRING',
      timestamp: 'TIMESTAMP',
      amount: 'FLOAT64',
      plan: 'STRING',
      meta: 'JSON',
      big: 'INT64',
    });
    // The staged NDJSON carries the JSON value itself and the big integer without losing digits.
    const staged = fake.requests.find((r) => r.path.startsWith('/upload/') && r.rawBody.includes('"b"'));
    expect(staged?.rawBody.toString()).toContain('"meta":{"k":[1,2]}');
    expect(staged?.rawBody.toString()).toContain('"big":"9007199254740993"');
    expect(await rows(fake, 'SELECT id, amount, big FROM `p.sluice.signup` ORDER BY id')).toEqual([
      ['a', '3', null],
      ['b', '2.5', '9007199254740993'],
    ]);
  });

  it('users: latest non-null trait per user wins; an older identify does not overwrite a newer one', async () => {
    const create: SchemaChange = {
      kind: 'create_table',
      table: 'users',
      columns: [
        { name: 'id', type: 'STRING' },
        { name: 'received_at', type: 'TIMESTAMP' },
        { name: 'plan', type: 'STRING' },
        { name: 'email', type: 'STRING' },
      ],
    };
    await deliver(dest, meta(1), [create], {
      users: [
        user('u1', 'i1', 1, '2026-02-01T10:00:00.000Z', { plan: 'free', email: 'old@x' }),
        user('u1', 'i2', 2, '2026-02-01T10:05:00.000Z', { plan: 'pro', email: null }),
        user('u2', 'i3', 3, '2026-02-01T10:00:00.000Z', { plan: 'free', email: null }),
      ],
    });
    expect(await rows(fake, 'SELECT id, plan, email FROM `p.sluice.users` ORDER BY id')).toEqual([
      ['u1', 'pro', 'old@x'],
      ['u2', 'free', null],
    ]);
    const record = await deliver(dest, meta(2), [], {
      users: [
        user('u1', 'i4', 1, '2026-02-01T09:00:00.000Z', { plan: 'stale', email: 'stale@x' }),
        user('u2', 'i5', 2, '2026-02-01T11:00:00.000Z', { plan: null, email: 'new@x' }),
      ],
    });
    expect(await rows(fake, 'SELECT id, plan, email FROM `p.sluice.users` ORDER BY id')).toEqual([
      ['u1', 'pro', 'old@x'],
      ['u2', 'free', 'new@x'],
    ]);
    expect(record.rowsWritten).toBe(2); // both identifies reach the users log; the refresh applies the newer one
    const commit = fake
      .jobInserts()
      .filter((j) => j.jobId.startsWith('sluice_users_'))
      .at(-1)!;
    const sql = (commit.configuration.query as { query: string }).query;
    expect(sql).toContain('MERGE INTO `p.sluice.users` AS T');
    expect(sql).toContain(
      'WHEN MATCHED AND (T.`received_at` IS NULL OR S._sluice_received >= T.`received_at`) THEN UPDATE SET `received_at` = COALESCE(S.`received_at`, T.`received_at`), `plan` = COALESCE(S.`plan`, T.`plan`), `email` = COALESCE(S.`email`, T.`email`)',
    );
  });
});
