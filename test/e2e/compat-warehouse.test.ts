/**
 * Official client libraries, unchanged, pointed at the local pipeline (embedded spool mode: collector -> window
 * file -> loader -> DuckDB): their events must land in the warehouse tables correctly, not just be accepted.
 */
import { rm } from 'node:fs/promises';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import { type Cell, type LocalStack, pollUntil } from '@sluice/infra/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

  it('@rudderstack/rudder-sdk-node events (gzip) land in screens, groups and aliases', async () => {
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
    const aliases = await waitForRows(`select user_id, previous_id from aliases where user_id = 'rs-u2'`, 1);
    expect(aliases).toEqual([{ user_id: 'rs-u2', previous_id: 'rs-anon' }]);
  }, 90_000);
});
