/**
 * Official client libraries, unchanged, pointed at the local pipeline (embedded spool mode: collector -> window
 * file -> loader -> DuckDB): their events must land in the warehouse tables correctly, not just be accepted.
 */
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import { loadObject, type ObjectStore } from '@sluice/functions';
import { type Cell, type LocalStack, pollUntil } from '@sluice/infra/local';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOGLESQL_RESERVED_KEYWORDS } from '../../functions/src/naming/sql-reserved-words.ts';
// The BigQuery REST fake is the functions package's test support (there is no local BigQuery to run instead).
import { fakeBigQueryDestination } from '../../functions/test/fakes/fake-bigquery-destination.ts';
import { fakeAuthClient } from '../../functions/test/fakes/fake-credentials.ts';
import { type FakeGcp, startFakeGcp } from '../../functions/test/fakes/fake-gcp-server.ts';
import { startSpoolStack, warehouseRows } from './local-pipeline.ts';

let dir: string;
let stack: LocalStack | undefined;

beforeAll(async () => {
  ({ dir, stack } = await startSpoolStack('sluice-compat-wh-'));
});

afterAll(async () => {
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Polls a query until it returns `n` rows (the window closes, then the loader runs) or the deadline passes. */
function waitForRows(sql: string, n: number): Promise<Record<string, Cell>[]> {
  return pollUntil(
    () => warehouseRows(stack!.duckdbPath, sql),
    (rows) => rows.length >= n,
    { initial: [], timeoutMs: 60_000 },
  );
}

describe('official clients -> collector -> warehouse', () => {
  it('@segment/analytics-node events land in tracks, the event table, its child table, identifies and users', async () => {
    const s = stack!;
    const analytics = new SegmentAnalytics({
      writeKey: s.writeKey,
      host: s.collectorUrl,
      flushAt: 3,
      maxRetries: 2,
    });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    analytics.track({
      userId: 'seg-u1',
      event: 'Order Completed',
      messageId: 'seg-order-1',
      timestamp: new Date('2024-05-01T12:00:00.000Z'),
      properties: {
        total: 30.5,
        currency: 'EUR',
        products: [
          { sku: 'a', price: 10 },
          { sku: 'b', price: 20.5 },
        ],
      },
    });
    analytics.identify({ userId: 'seg-u1', messageId: 'seg-identify-1', traits: { plan: 'pro' } });
    analytics.page({
      anonymousId: 'seg-anon',
      messageId: 'seg-page-1',
      name: 'Home',
      properties: { path: '/' },
    });
    await analytics.closeAndFlush({ timeout: 10_000 });
    expect(errors).toEqual([]);

    const order = await waitForRows(
      `select id, user_id, event, event_text, total, currency, context_library_name from order_completed where id = 'seg-order-1'`,
      1,
    );
    expect(order).toEqual([
      {
        id: 'seg-order-1',
        user_id: 'seg-u1',
        event: 'order_completed',
        event_text: 'Order Completed',
        total: 30.5,
        currency: 'EUR',
        context_library_name: '@segment/analytics-node',
      },
    ]);
    const tracks = await waitForRows(`select id, event_text from tracks where id = 'seg-order-1'`, 1);
    expect(tracks).toEqual([{ id: 'seg-order-1', event_text: 'Order Completed' }]);
    const products = await waitForRows(`select * from order_completed__products order by sku`, 2);
    expect(products.map((p) => [p.sku, p.price])).toEqual([
      ['a', 10],
      ['b', 20.5],
    ]);
    const identifies = await waitForRows(
      `select id, user_id, plan from identifies where id = 'seg-identify-1'`,
      1,
    );
    expect(identifies).toEqual([{ id: 'seg-identify-1', user_id: 'seg-u1', plan: 'pro' }]);
    const users = await waitForRows(`select id, plan from users where id = 'seg-u1'`, 1);
    expect(users).toEqual([{ id: 'seg-u1', plan: 'pro' }]);
    const pages = await waitForRows(
      `select id, anonymous_id, name, path from pages where id = 'seg-page-1'`,
      1,
    );
    expect(pages).toEqual([{ id: 'seg-page-1', anonymous_id: 'seg-anon', name: 'Home', path: '/' }]);
  }, 90_000);

  it('@rudderstack/rudder-sdk-node events (gzip) land in screens, groups, accounts and aliases', async () => {
    const s = stack!;
    const client = new RudderAnalytics(s.writeKey, {
      dataPlaneUrl: s.collectorUrl,
      flushAt: 3,
      flushInterval: 200,
    });
    client.screen({ userId: 'rs-u2', name: 'Settings', properties: { tab: 'billing' } });
    client.group({ userId: 'rs-u2', groupId: 'org-2', traits: { size: 10 } });
    client.alias({ userId: 'rs-u2', previousId: 'rs-anon' });
    await client.flush();

    const screens = await waitForRows(`select user_id, name, tab from screens where user_id = 'rs-u2'`, 1);
    expect(screens).toEqual([{ user_id: 'rs-u2', name: 'Settings', tab: 'billing' }]);
    const groups = await waitForRows(
      `select user_id, group_id, size::INTEGER as size, typeof(size) as size_type from groups where user_id = 'rs-u2'`,
      1,
    );
    expect(groups).toEqual([{ user_id: 'rs-u2', group_id: 'org-2', size: 10, size_type: 'BIGINT' }]);
    // Segment's `accounts`: one row per group id with its latest traits (issue 14 item 9).
    const accounts = await waitForRows(
      `select id, size::INTEGER as size from accounts where id = 'org-2'`,
      1,
    );
    expect(accounts).toEqual([{ id: 'org-2', size: 10 }]);
    const aliases = await waitForRows(`select user_id, previous_id from aliases where user_id = 'rs-u2'`, 1);
    expect(aliases).toEqual([{ user_id: 'rs-u2', previous_id: 'rs-anon' }]);
  }, 90_000);
});

describe('reserved keywords as column names (issue 14 item 10)', () => {
  let rdir: string;
  let rstack: LocalStack | undefined;
  let fake: FakeGcp | undefined;

  beforeAll(async () => {
    ({ dir: rdir, stack: rstack } = await startSpoolStack('sluice-compat-reserved-'));
    fake = await startFakeGcp({ project: 'reserved' });
  });
  afterAll(async () => {
    await rstack?.stop();
    await fake?.close();
    await rm(rdir, { recursive: true, force: true });
  });

  it('every GoogleSQL reserved keyword is a column of that very name on DuckDB and on the BigQuery fake', async () => {
    const s = rstack!;
    const properties = Object.fromEntries(GOOGLESQL_RESERVED_KEYWORDS.map((word, i) => [word, i]));
    const analytics = new SegmentAnalytics({
      writeKey: s.writeKey,
      host: s.collectorUrl,
      flushAt: 1,
      maxRetries: 2,
    });
    analytics.track({ userId: 'u-kw', event: 'Keywords', messageId: 'kw-1', properties });
    await analytics.closeAndFlush({ timeout: 10_000 });
    // A Segment query that names the column quotes it (no engine takes a bare keyword there): as it was written.
    const select = (q: (name: string) => string, table: string) =>
      `select ${q('order')} as o, ${q('select')} as s, ${q('from')} as f from ${table} where id = 'kw-1'`;
    const local = await pollUntil(
      () =>
        warehouseRows(s.duckdbPath, "select * from information_schema.tables where table_name = 'keywords'"),
      (rows) => rows.length === 1,
      { initial: [], timeoutMs: 60_000 },
    );
    expect(local).toHaveLength(1);
    const columns = await warehouseRows(
      s.duckdbPath,
      "select column_name from information_schema.columns where table_name = 'keywords'",
    );
    const names = new Set(columns.map((c) => String(c.column_name)));
    expect(GOOGLESQL_RESERVED_KEYWORDS.filter((w) => !names.has(w))).toEqual([]);
    const duck = await warehouseRows(
      s.duckdbPath,
      select((n) => `"${n}"`, 'keywords'),
    );
    expect(duck.map((r) => [Number(r.o), Number(r.s), Number(r.f)])).toEqual([
      [properties.order, properties.select, properties.from],
    ]);

    const destination = fakeBigQueryDestination(fake!);
    for (const file of await rawFiles(s.duckdbPath)) {
      const outcome = await loadObject(loadDeps(s.rawBucketDir, destination), {
        bucket: BUCKET_NAME,
        name: file,
        generation: '1',
      });
      expect(outcome.status).toBe('loaded');
    }
    const fields = fake!.bigquery.engine.table('sluice', 'keywords')?.fields.map((f) => f.name) ?? [];
    expect(GOOGLESQL_RESERVED_KEYWORDS.filter((w) => !fields.includes(w))).toEqual([]);
    const rows = await bigQueryRows(
      fake!,
      select((n) => `\`${n}\``, '`reserved.sluice.keywords`'),
    );
    expect(rows.map((r) => [Number(r.o), Number(r.s), Number(r.f)])).toEqual([
      [properties.order, properties.select, properties.from],
    ]);
  }, 120_000);
});

/**
 * A query's rows through the real BigQuery client pointed at the fake: a query job (jobs.insert) and its results
 * (getQueryResults). Not `BigQuery#query`, which calls jobs.query, a method the fake does not implement.
 */
async function bigQueryRows(fake: FakeGcp, query: string): Promise<Record<string, unknown>[]> {
  const bigquery = new BigQuery({
    projectId: fake.project,
    apiEndpoint: fake.url,
    authClient: fakeAuthClient(),
    location: 'EU',
    retryOptions: { autoRetry: false },
  });
  const [job] = await bigquery.createQueryJob({ query, location: 'EU' });
  const [rows] = await job.getQueryResults();
  return rows as Record<string, unknown>[];
}

/** What `loadObject` needs to load a raw file of the stack's bucket into `destination`, with default settings. */
function loadDeps(rawBucketDir: string, destination: ReturnType<typeof fakeBigQueryDestination>) {
  return {
    store: directoryStore(rawBucketDir),
    destination,
    settings: {
      batchEvents: 5000,
      maxLineBytes: 1024 * 1024,
      maxNestingDepth: 5,
      maxColumns: 9000,
      dedupWindowMs: 72 * 3600 * 1000,
      contracts: { default: 'evolve' as const, tables: {} },
    },
    logger: pino({ level: 'silent' }),
  };
}

/**
 * Segment's web sessionization, as the public dbt package writes it (dbt-labs/segment, archived: models
 * `base/segment_web_page_views.sql` -> `sessionization/segment_web_page_views__sessionized.sql` ->
 * `segment_web_user_stitching.sql` -> `segment_web_sessions__initial.sql` -> `segment_web_sessions__stitched.sql`),
 * in the same shape, as one statement: de-duplicate page views on `id`, rename, number each anonymous_id's views,
 * lag the timestamp, a new session after more than 30 minutes of inactivity (`segment_inactivity_cutoff`: the
 * model's `datediff(...) <= 30 * 60`, written as an interval comparison so one text runs on both engines), running
 * sum -> session number -> session id, the user stitching map (last non-null user_id per anonymous_id), the
 * session aggregates, and `coalesce(user_id, anonymous_id)` as the blended user. It reads the columns Segment's
 * models read (`user_id`, `sent_at`, `context_campaign_*`, `context_ip`, ...), which a warehouse that has seen only
 * anonymous page views has only because every Segment table starts with Segment's common columns.
 * `table`: the `pages` table as the engine names it.
 */
function sessionizationSql(table: string): string {
  return `
with source as (
  select * from ${table}
),
row_numbering as (
  select *, row_number() over (partition by id order by received_at asc) as row_num from source
),
deduped as (
  select * from row_numbering where row_num = 1
),
renamed as (
  select
    id as page_view_id, anonymous_id, user_id,
    received_at as received_at_tstamp, sent_at as sent_at_tstamp, timestamp as tstamp,
    url as page_url, path as page_url_path, title as page_title, search as page_url_query, referrer,
    context_campaign_source as utm_source, context_campaign_medium as utm_medium,
    context_campaign_name as utm_campaign, context_campaign_term as utm_term,
    context_campaign_content as utm_content, context_ip as ip, context_user_agent as user_agent
  from deduped
),
numbered as (
  select *, row_number() over (partition by anonymous_id order by tstamp) as page_view_number from renamed
),
lagged as (
  select *, lag(tstamp) over (partition by anonymous_id order by page_view_number) as previous_tstamp
  from numbered
),
new_sessions as (
  select *,
    case when previous_tstamp is not null and tstamp <= previous_tstamp + interval 30 minute then 0 else 1 end
      as new_session
  from lagged
),
session_numbers as (
  select *,
    sum(new_session) over (
      partition by anonymous_id order by page_view_number rows between unbounded preceding and current row
    ) as session_number
  from new_sessions
),
session_ids as (
  select *, concat(anonymous_id, '-', cast(session_number as string)) as session_id from session_numbers
),
id_stitching as (
  select distinct
    anonymous_id,
    last_value(user_id ignore nulls) over (
      partition by anonymous_id order by tstamp rows between unbounded preceding and unbounded following
    ) as user_id,
    min(tstamp) over (partition by anonymous_id) as first_seen_at,
    max(tstamp) over (partition by anonymous_id) as last_seen_at
  from renamed
),
sessions as (
  select distinct
    session_id,
    anonymous_id,
    min(tstamp) over (partition by session_id) as session_start_tstamp,
    max(tstamp) over (partition by session_id) as session_end_tstamp,
    count(*) over (partition by session_id) as page_views,
    first_value(utm_source) over (
      partition by session_id order by page_view_number rows between unbounded preceding and unbounded following
    ) as utm_source,
    first_value(page_url) over (
      partition by session_id order by page_view_number rows between unbounded preceding and unbounded following
    ) as first_page_url,
    last_value(page_url) over (
      partition by session_id order by page_view_number rows between unbounded preceding and unbounded following
    ) as last_page_url
  from session_ids
),
stitched as (
  select sessions.*, coalesce(id_stitching.user_id, sessions.anonymous_id) as blended_user_id
  from sessions
  left join id_stitching using (anonymous_id)
)
select session_id, anonymous_id, blended_user_id, page_views, first_page_url, last_page_url, utm_source
from stitched
order by session_id`;
}

/** Any bucket name: `directoryStore` serves the stack's raw bucket directory under it. */
const BUCKET_NAME = 'sluice-raw';

/** The stack's raw bucket directory as an object store (read-only, what `loadObject` needs). */
function directoryStore(dir: string): ObjectStore {
  return {
    read: async (_bucket, name) => createReadStream(join(dir, name)),
    async stat(bucket, name) {
      const st = await stat(join(dir, name));
      return { bucket, name, generation: '1', size: st.size, updated: st.mtime };
    },
    async *list() {},
  };
}

/** The raw files the local loader loaded (their names in the raw bucket). */
async function rawFiles(duckdbPath: string): Promise<string[]> {
  const rows = await warehouseRows(duckdbPath, 'select distinct name from _sluice_loads order by name');
  return rows.map((r) => String(r.name));
}

/** The sessions the page views below make: a gap over 30 minutes starts a new session. */
const EXPECTED_SESSIONS = [
  {
    session_id: 'anon-a-1',
    anonymous_id: 'anon-a',
    blended_user_id: 'anon-a',
    page_views: 2,
    first_page_url: 'https://shop.example/',
    last_page_url: 'https://shop.example/pricing',
    utm_source: null,
  },
  {
    session_id: 'anon-a-2',
    anonymous_id: 'anon-a',
    blended_user_id: 'anon-a',
    page_views: 1,
    first_page_url: 'https://shop.example/docs',
    last_page_url: 'https://shop.example/docs',
    utm_source: null,
  },
  {
    session_id: 'anon-b-1',
    anonymous_id: 'anon-b',
    blended_user_id: 'anon-b',
    page_views: 2,
    first_page_url: 'https://shop.example/',
    last_page_url: 'https://shop.example/blog',
    utm_source: null,
  },
];

/** Anonymous page views only (no userId anywhere, no campaign): minutes after 2024-05-01T10:00Z. */
const PAGE_VIEWS: [string, number, string][] = [
  ['anon-a', 0, '/'],
  ['anon-a', 29, '/pricing'],
  ['anon-a', 60, '/docs'], // 31 minutes after the last: a new session
  ['anon-b', 5, '/'],
  ['anon-b', 35, '/blog'], // exactly 30 minutes: the same session (the model cuts at > 30 minutes)
];

describe('Segment sessionization SQL on a fresh warehouse of anonymous page views', () => {
  let sdir: string;
  let sstack: LocalStack | undefined;
  let fake: FakeGcp | undefined;

  beforeAll(async () => {
    ({ dir: sdir, stack: sstack } = await startSpoolStack('sluice-compat-sessions-'));
    fake = await startFakeGcp({ project: 'sessions' });
  });
  afterAll(async () => {
    await sstack?.stop();
    await fake?.close();
    await rm(sdir, { recursive: true, force: true });
  });

  it('runs on DuckDB (pipeline: analytics-node -> collector -> loader) and on the BigQuery HTTP fake (same raw files)', async () => {
    const s = sstack!;
    const analytics = new SegmentAnalytics({
      writeKey: s.writeKey,
      host: s.collectorUrl,
      flushAt: 5,
      maxRetries: 2,
    });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    PAGE_VIEWS.forEach(([anonymousId, minute, path], i) => {
      analytics.page({
        anonymousId,
        messageId: `pv-${i}`,
        timestamp: new Date(Date.UTC(2024, 4, 1, 10, minute)),
        properties: { path, url: `https://shop.example${path}`, title: `Page ${path}` },
      });
    });
    await analytics.closeAndFlush({ timeout: 10_000 });
    expect(errors).toEqual([]);
    await pollUntil(
      () => warehouseRows(s.duckdbPath, 'select id from pages'),
      (rows) => rows.length >= PAGE_VIEWS.length,
      { initial: [], timeoutMs: 60_000 },
    );

    // DuckDB: the local warehouse the pipeline loaded (only these page views: no user_id value anywhere).
    const local = await warehouseRows(s.duckdbPath, sessionizationSql('"pages"'));
    expect(local.map((r) => ({ ...r, page_views: Number(r.page_views) }))).toEqual(EXPECTED_SESSIONS);
    const tables = await warehouseRows(
      s.duckdbPath,
      "select table_name from information_schema.tables where table_name not like '\\_sluice%' escape '\\' order by 1",
    );
    expect(tables.map((t) => t.table_name)).toEqual(['pages']);

    // BigQuery (the HTTP fake, through the real destination and client): the same raw files, loaded by the
    // loader into a fresh dataset, then the same query in GoogleSQL through the REST API.
    const files = await rawFiles(s.duckdbPath);
    expect(files.length).toBeGreaterThan(0);
    const destination = fakeBigQueryDestination(fake!);
    for (const file of files) {
      const outcome = await loadObject(loadDeps(s.rawBucketDir, destination), {
        bucket: BUCKET_NAME,
        name: file,
        generation: '1',
      });
      expect(outcome.status).toBe('loaded');
    }
    const rows = await bigQueryRows(fake!, sessionizationSql('`sessions.sluice.pages`'));
    expect(
      (rows as Record<string, unknown>[]).map((r) => ({ ...r, page_views: Number(r.page_views) })),
    ).toEqual(EXPECTED_SESSIONS);
  }, 120_000);
});
