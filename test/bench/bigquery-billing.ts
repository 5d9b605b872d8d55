// `npm run bench -- bigquery-billing`: BigQuery on-demand bytes billed per file, today's per-file transaction
// beside the new claim + load-jobs path, and the `users` upkeep per month at 100k and 1M users — all measured on
// the strict HTTP fake (functions/test/fakes: 10 MB minimum per table referenced per statement, rounded up to the
// MB; load jobs free). Byte sizes in the fake are JSON text sizes, close to BigQuery's logical bytes for these
// rows; only the live suite measures real jobs. Fails when the new figure is over 25 MB or users upkeep at 100k
// users is over $0.20 a month.
import type { DuckDBValue } from '@duckdb/node-api';
import { STAGE_FIELDS } from '../../functions/src/destinations/bigquery/table-layout.ts';
import { upsertRefreshSql } from '../../functions/src/destinations/bigquery/upsert-refresh.ts';
import {
  cellsOf,
  type Destination,
  type LoadMeta,
  type SchemaChange,
  type StagedRow,
  TABLES,
} from '../../functions/src/destinations/destination.ts';
import { DEFAULT_IDENTITY_RULES } from '../../functions/src/schema/identity-rules.ts';
import { upsertTableNamed } from '../../functions/src/schema/upsert-tables.ts';
import { fakeBigQueryDestination } from '../../functions/test/fakes/fake-bigquery-destination.ts';
import { type FakeGcp, startFakeGcp } from '../../functions/test/fakes/fake-gcp-server.ts';
import { commitScript } from '../../functions/test/fakes/legacy-commit-sql.ts';
import { ident, identityBigQuery } from '../../functions/test/helpers/identity-bigquery.ts';
import { type Figure, figure, type SuiteOptions, type SuiteResult } from './report.ts';

const MB = 1024 * 1024;
const TIB = 1024 ** 4;
const USD_PER_TIB = 6.25;
const FILES_PER_MONTH = 4_320;
const REFRESHES_PER_MONTH = 30 * 24; // SLUICE_BQ_USERS_REFRESH_MINUTES=60
const EVENT_TABLES = [
  'tracks',
  'identifies',
  'pages',
  ...Array.from({ length: 17 }, (_, i) => `event_${String(i).padStart(2, '0')}`),
];
const CHILD = 'event_00__products';
const EVENT_COLUMNS = [
  { name: 'id', type: 'STRING' },
  { name: 'user_id', type: 'STRING' },
  { name: 'timestamp', type: 'TIMESTAMP' },
  { name: 'received_at', type: 'TIMESTAMP' },
  { name: 'loaded_at', type: 'TIMESTAMP' },
  { name: '_sluice_load_id', type: 'STRING' },
] as const;
const USERS_COLUMNS = [
  { name: 'id', type: 'STRING' },
  { name: 'received_at', type: 'TIMESTAMP' },
  { name: 'email', type: 'STRING' },
  { name: 'plan', type: 'STRING' },
] as const;
const CREATE: SchemaChange[] = [
  ...EVENT_TABLES.map(
    (table): SchemaChange => ({ kind: 'create_table', table, columns: [...EVENT_COLUMNS] }),
  ),
  {
    kind: 'create_table',
    table: CHILD,
    columns: [
      { name: '_sluice_root_id', type: 'STRING' },
      { name: 'sku', type: 'STRING' },
    ],
  },
  { kind: 'create_table', table: TABLES.users, columns: [...USERS_COLUMNS] },
];

const AT = '2026-01-01T00:00:00.000Z';
const meta = (n: number): LoadMeta => ({
  loadId: `L${n}`,
  loadKey: `raw/file-${n}.ndjson#1`,
  bucket: 'raw',
  name: `file-${n}.ndjson`,
  generation: '1',
  startedAt: new Date(AT),
  dedupWindowMs: 24 * 3600 * 1000,
});

/** One file: 3 events per event table, a child row per event_00 event, a users row per identify. */
function fileRows(n: number): Map<string, StagedRow[]> {
  const out = new Map<string, StagedRow[]>();
  let line = 0;
  for (const table of EVENT_TABLES) {
    for (let k = 0; k < 3; k++) {
      const id = `f${n}-${table}-${k}`;
      line++;
      const base = { eventId: id, line, receivedAt: AT };
      const cells = {
        id,
        user_id: `u${k}`,
        timestamp: AT,
        received_at: AT,
        loaded_at: AT,
        _sluice_load_id: `L${n}`,
      };
      out.set(table, [...(out.get(table) ?? []), { ...base, ...cellsOf(cells) }]);
      if (table === 'event_00') {
        out.set(CHILD, [
          ...(out.get(CHILD) ?? []),
          { ...base, ...cellsOf({ _sluice_root_id: id, sku: 'x' }) },
        ]);
      }
      if (table === 'identifies') {
        const user = { id: `u${k}`, received_at: AT, email: `u${k}@x`, plan: 'pro' };
        out.set(TABLES.users, [...(out.get(TABLES.users) ?? []), { ...base, ...cellsOf(user) }]);
      }
    }
  }
  return out;
}

const billedSince = (fake: FakeGcp, before: Set<string>): number => {
  let sum = 0;
  for (const [id, job] of fake.bigquery.jobs) {
    if (before.has(id)) continue;
    const stats = job.resource.statistics as { query?: { totalBytesBilled?: string } } | undefined;
    sum += Number(stats?.query?.totalBytesBilled ?? 0);
  }
  return sum;
};

async function deliver(dest: Destination, n: number, changes: SchemaChange[]): Promise<void> {
  await dest.open();
  if (await dest.findLoad(meta(n).loadKey)) return;
  const session = await dest.beginLoad(meta(n));
  await session.applySchemaChanges(changes);
  const rows = fileRows(n);
  for (const [table, staged] of rows) await session.appendRows(table, staged);
  await session.appendFailed([
    {
      line: 999,
      raw: '{',
      rawTruncated: false,
      code: 'SLUICE_ERR_LOAD_BAD_JSON',
      reason: 'bad json',
      eventId: null,
    },
  ]);
  const events = EVENT_TABLES.length * 3;
  await session.commit({
    linesRead: events + 1,
    bytesRead: 1000,
    eventsStaged: events,
    failed: 1,
    valuesDiscarded: 0,
    schemaChanges: changes,
    finishedAt: new Date(AT),
  });
  await dest.close();
}

/** Today's commit: staging tables (filled free by load jobs then) and the one transaction over all of them. */
async function legacyCommit(fake: FakeGcp, n: number): Promise<number> {
  const engine = fake.bigquery.engine;
  const targets: { table: string; stagingTable: string; columns: string[] }[] = [];
  for (const [table, rows] of fileRows(n)) {
    const columns = [...(rows[0]?.columns ?? [])];
    const stagingTable = `_sluice_stage_legacy_${table}`;
    const fields = [
      ...columns.map((c) => ({
        name: c,
        type: c.endsWith('_at') || c === 'timestamp' ? 'TIMESTAMP' : 'STRING',
      })),
      ...STAGE_FIELDS,
    ];
    const staged = await engine.createTable('sluice', stagingTable, { schema: { fields } });
    await engine.insertRows(
      staged,
      rows.map((r) => ({
        ...Object.fromEntries(r.columns.map((c, i) => [c, r.cells[i]])),
        _sluice_stage_event_id: r.eventId,
        _sluice_stage_line: r.line,
        _sluice_stage_received_at: r.receivedAt,
        _sluice_stage_dedup_from: r.receivedAt,
      })),
      false,
    );
    targets.push({ table, stagingTable, columns });
  }
  const failed = await engine.createTable('sluice', '_sluice_stage_legacy_failed', {
    schema: { fields: [{ name: 'load_id', type: 'STRING' }] },
  });
  await engine.insertRows(failed, [{ load_id: `L${n}` }], false);
  const sql = commitScript({
    projectId: fake.project,
    datasetId: 'sluice',
    events: targets.filter((t) => t.table !== TABLES.users),
    users: targets.find((t) => t.table === TABLES.users)!,
    copies: [
      { table: TABLES.failedEvents, stagingTable: '_sluice_stage_legacy_failed', columns: ['load_id'] },
    ],
  });
  const s = (v: string): DuckDBValue => v;
  const params: Record<string, DuckDBValue> = {
    load_key: s(`legacy-${n}`),
    load_id: s(`L${n}`),
    bucket: s('raw'),
    name: s('legacy'),
    generation: s('1'),
    window_start: s('2025-12-31 00:00:00+00:00'),
    started_at: s('2026-01-01 00:00:00+00:00'),
    finished_at: s('2026-01-01 00:00:00+00:00'),
    loaded_at: s('2026-01-01 00:00:00+00:00'),
    duration_ms: 0n,
    lines_read: 61n,
    bytes_read: 1000n,
    events_staged: 60n,
    failed: 1n,
    values_discarded: 0n,
    schema_changes: s('[]'),
  };
  const outcome = await engine.query(sql, params);
  // Today's path also ran a findLoad (10 MB) and an UPDATE of the loads row with the bytes (10 MB).
  return outcome.bytesBilled + 20 * MB;
}

async function usersUpkeep(users: number): Promise<{ refresh: number; perFileMerge: number }> {
  const fake = await startFakeGcp({ project: 'bench' });
  try {
    const dest = fakeBigQueryDestination(fake);
    await deliver(dest, 1, CREATE); // creates users and the users log
    const engine = fake.bigquery.engine;
    await engine.query(
      `INSERT INTO \`bench.sluice.users\` (id, received_at, email, plan) SELECT 'user-' || CAST(i AS VARCHAR), TIMESTAMP '2026-01-01 00:00:00+00', 'user-' || CAST(i AS VARCHAR) || '@example.com', 'pro' FROM range(${users}) t(i)`,
      {},
    );
    const usersTable = upsertTableNamed('users');
    if (usersTable === undefined) throw new Error('no users upsert table');
    const sql = upsertRefreshSql(
      'bench',
      'sluice',
      usersTable,
      USERS_COLUMNS.map((c) => c.name),
    );
    const refresh = (await engine.query(sql, { since: '2025-12-31 00:00:00+00:00' })).bytesBilled;
    return { refresh, perFileMerge: refresh };
  } finally {
    await fake.close();
  }
}

/**
 * One scheduled identity update (`updateIdentity`) after a file of identifies, through the real loader and update
 * code on the strict fake: the log slice since the watermark, its compaction, the touched components, the map write.
 */
async function identityUpdateRun(): Promise<number> {
  const bq = await identityBigQuery();
  try {
    const at = (s: number) => `2026-01-01T00:00:0${s}Z`;
    await bq.load('identity', [
      ident({ messageId: 'b1', anonymousId: 'a1', userId: 'u1', timestamp: at(1) }),
    ]);
    await bq.update('identity', DEFAULT_IDENTITY_RULES);
    await bq.load('identity', [
      ident({ messageId: 'b2', anonymousId: 'a2', userId: 'u1', timestamp: at(2) }),
      ident({ messageId: 'b3', anonymousId: 'a3', userId: 'u3', timestamp: at(3) }),
    ]);
    const mark = bq.jobMark();
    await bq.update('identity', DEFAULT_IDENTITY_RULES);
    return bq.billedSince(mark);
  } finally {
    await bq.close();
  }
}

const usd = (bytes: number): string => `$${((bytes / TIB) * USD_PER_TIB).toFixed(2)}`;
const mb = (bytes: number): string => `${(bytes / MB).toFixed(0)} MB`;

export async function run(options: SuiteOptions): Promise<SuiteResult> {
  const fake = await startFakeGcp({ project: 'bench' });
  let perFileNew = 0;
  let perFileToday = 0;
  try {
    // Production settings: users refreshed at most hourly (the first file refreshes, the second does not).
    const dest = fakeBigQueryDestination(fake, { usersRefreshIntervalMs: 3600 * 1000 });
    await deliver(dest, 1, CREATE);
    const before = new Set(fake.bigquery.jobs.keys());
    await deliver(dest, 2, []);
    perFileNew = billedSince(fake, before);
    perFileToday = await legacyCommit(fake, 3);
  } finally {
    await fake.close();
  }
  console.log(
    `file with ${EVENT_TABLES.length} event tables + 1 child table + identifies/users + failed events, billed per file:`,
  );
  console.log(
    `  today (one transaction over staging tables): ${mb(perFileToday)} = ${usd(perFileToday * FILES_PER_MONTH)} / month at ${FILES_PER_MONTH} files`,
  );
  console.log(
    `  new (findLoad + one claim MERGE):            ${mb(perFileNew)} = ${usd(perFileNew * FILES_PER_MONTH)} / month at ${FILES_PER_MONTH} files`,
  );
  const figures: Figure[] = [
    figure({
      id: 'bigquery.perFile.bytesBilled',
      label: `BigQuery bytes billed per file (${EVENT_TABLES.length} event tables, strict fake)`,
      unit: 'MB',
      rounds: [perFileNew / MB],
      baseline: { label: 'previous per-file transaction', value: perFileToday / MB },
      target: { of: 'value', op: '<=', limit: 25 },
    }),
  ];
  let ok = perFileNew <= 25 * MB;
  // Byte counts, not timings: --quick measures the same thing at a size the fake fills in a second.
  for (const users of options.quick ? [10_000, 100_000] : [100_000, 1_000_000]) {
    const { refresh, perFileMerge } = await usersUpkeep(users);
    const month = refresh * REFRESHES_PER_MONTH;
    console.log(
      `users upkeep at ${users.toLocaleString('en-US')} users: ${mb(refresh)} per refresh x ${REFRESHES_PER_MONTH} hourly refreshes = ${usd(month)} / month (a MERGE per file, as today: ${usd(perFileMerge * FILES_PER_MONTH)} / month)`,
    );
    figures.push(
      figure({
        id: `bigquery.usersRefresh.bytesBilled.${users}`,
        label: `BigQuery bytes billed per users refresh, ${users.toLocaleString('en-US')} users`,
        unit: 'MB',
        rounds: [refresh / MB],
      }),
    );
    if (users === 100_000 && (month / TIB) * USD_PER_TIB > 0.2) ok = false;
  }
  const identityRun = await identityUpdateRun();
  console.log(
    `identity update (scheduled, hourly): ${mb(identityRun)} per run x ${REFRESHES_PER_MONTH} runs = ${usd(identityRun * REFRESHES_PER_MONTH)} / month`,
  );
  figures.push(
    figure({
      id: 'bigquery.identityUpdate.bytesBilled',
      label: 'BigQuery bytes billed per scheduled identity update (strict fake, tables under 10 MB)',
      unit: 'MB',
      rounds: [identityRun / MB],
    }),
  );
  if (!ok) console.log('OVER BUDGET: > 25 MB per file or > $0.20 a month of users upkeep at 100k users');
  return { ok: options.quick || ok, figures };
}
