import { describe, expect, it } from 'vitest';
import { parseCostArgs } from './cli.ts';
import { busySeconds, estimate, type Measured, usersRefreshMbAt } from './model.ts';
import PRICES from './prices.json' with { type: 'json' };

const TIB = 1024 ** 4;
const measured = (): Measured => ({
  'traffic.browser.publishedBytesPerEvent': 600,
  'traffic.server.publishedBytesPerEvent': 500,
  'collector.track.cpuSecondsPer1000Events': 0.3,
  'collector.batch.cpuSecondsPer1000Events': 0.02,
  'collector.track.latencyMsAlone': 1,
  'loader.smallFile.cpuSeconds': 0.5,
  'loader.fullLoad.cpuSecondsPerEvent': 0.00002,
  'bigquery.perFile.bytesBilled': 20,
  'bigquery.identityUpdate.bytesBilled': 110,
  usersRefreshMb: new Map([
    [100_000, 30],
    [1_000_000, 120],
  ]),
});
const params = {
  mtu: 100_000,
  eventsPerUser: 15,
  retentionDays: 365,
  windowSeconds: 600,
  usersUpsert: 'hourly' as const,
};

describe('cost model', () => {
  it('prices the scheduled identity update: the measured bytes per run while the tables are small, their size beyond', () => {
    const MB = 1024 * 1024;
    const line = (mtu: number) =>
      estimate(measured(), { ...params, mtu }).lines.find(
        (l) => l.item === 'BigQuery identity map update (scheduled)',
      );
    // 10k users: the identity tables (2 links/user x 120 B; the map 2 ids/link) are under the 10 MB minimum.
    expect(line(10_000)?.usd).toBeCloseTo(((720 * 110 * MB) / TIB) * 6.25, 10);
    // 1M users: identity_edges 240 MB, identity_map 480 MB: two scans of the edges and six of the map per run.
    const run = 2 * (2_000_000 * 120) + 6 * (2_000_000 * 2 * 120);
    expect(line(1_000_000)?.usd).toBeCloseTo(((720 * run) / TIB) * 6.25, 10);
  });

  it('prices the Cloud Storage subscription at $50/TiB of the measured bytes per event', () => {
    const e = estimate(measured(), params);
    const bytes = 1_500_000 * (0.8 * 600 + 0.2 * 500);
    const line = e.lines.find((l) => l.item === 'Cloud Storage subscription');
    expect(line?.usd).toBeCloseTo((bytes / TIB) * 50, 10);
  });

  it('bills Pub/Sub publish at least 1,000 bytes per request', () => {
    const e = estimate(measured(), params);
    // Browser requests of 1.5 events (870 B) are billed as 1,000 B; server requests of 15 events as their bytes.
    const bytes = (1_200_000 / 1.5) * 1000 + (300_000 / 15) * 15 * 580;
    expect(e.lines.find((l) => l.item === 'Pub/Sub publish')?.usd).toBeCloseTo((bytes / TIB) * 40, 10);
  });

  it('rounds each lone collector request up to 100 ms of instance time, and one request per event costs more', () => {
    const e = estimate(measured(), params);
    const collector = e.lines.find((l) => l.group === 'collector')?.usd ?? 0;
    // ~820,000 requests, each alone: ~0.1 s x (1 vCPU + 0.5 GiB) + $0.40 per million requests.
    expect(collector).toBeGreaterThan(820_000 * 0.1 * 0.000024 * 0.98);
    expect(collector).toBeLessThan(820_000 * 0.1 * (0.000024 + 0.5 * 0.0000025) + 0.4);
    expect(e.collectorOnePerEvent.usd).toBeGreaterThan(collector);
  });

  it('prices Segment at $120 for 10k MTU then $10-12 per 1,000', () => {
    const e = estimate(measured(), params);
    expect(e.segment).toEqual({ low: 1020, high: 1200 });
    expect(estimate(measured(), { ...params, mtu: 5000 }).segment).toEqual({ low: 120, high: 120 });
  });

  it('totals its lines, and free tiers only lower a line', () => {
    const e = estimate(measured(), params);
    expect(e.total).toBeCloseTo(
      e.lines.reduce((s, l) => s + l.usd, 0),
      10,
    );
    for (const l of e.lines) expect(l.usdAfterFree).toBeLessThanOrEqual(l.usd + 1e-12);
    expect(new Set(e.lines.map((l) => l.group))).toEqual(
      new Set(['pubsub', 'collector', 'loader', 'bigquery', 'storage']),
    );
  });

  it('grows with events per user, and a longer window means fewer, cheaper loader invocations', () => {
    const at15 = estimate(measured(), params);
    const at60 = estimate(measured(), { ...params, eventsPerUser: 60 });
    expect(at60.total).toBeGreaterThan(at15.total);
    const loader = (w: number) =>
      estimate(measured(), { ...params, windowSeconds: w }).lines.find((l) => l.group === 'loader')?.usd ?? 0;
    expect(loader(1200)).toBeLessThan(loader(600));
  });

  it('reads the users refresh between measured points, and never below two 10 MB tables', () => {
    const points = measured().usersRefreshMb;
    expect(usersRefreshMbAt(points, 550_000)).toBeCloseTo(75, 10);
    expect(usersRefreshMbAt(points, 1000)).toBe(20);
    expect(usersRefreshMbAt(points, 2_000_000)).toBeCloseTo(220, 10);
  });

  it('busy time is requests x hold time when requests are rare, and the whole month at most', () => {
    expect(busySeconds(1000, 0.1, 0)).toBeCloseTo(100, 1);
    expect(busySeconds(1e12, 0.1, 0)).toBeLessThanOrEqual(30 * 86_400);
    expect(busySeconds(10, 0.1, 50)).toBe(50);
  });

  it('uses the documented prices file (every price has a source and the file a read date)', () => {
    expect(PRICES.read).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const [k, p] of Object.entries(PRICES.prices)) expect(p.source, k).toMatch(/^https:\/\//);
  });
});

describe('npm run cost arguments', () => {
  it('takes the issue example and defaults', () => {
    const p = parseCostArgs(['--mtu', '100000', '--events-per-user', '15']);
    expect(p).toMatchObject({
      mtu: 100000,
      eventsPerUser: 15,
      retentionDays: 365,
      windowSeconds: 600,
      usersUpsert: 'hourly',
    });
  });
  it('rejects unknown options, missing values and bad numbers', () => {
    expect(() => parseCostArgs(['--mtu'])).toThrow();
    expect(() => parseCostArgs(['--mtu', 'x', '--events-per-user', '1'])).toThrow(/--mtu/);
    expect(() => parseCostArgs(['--events-per-user', '1'])).toThrow(/--mtu/);
    expect(() => parseCostArgs(['--mtu', '1', '--events-per-user', '1', '--colour', 'x'])).toThrow(/unknown/);
    expect(() =>
      parseCostArgs(['--mtu', '1', '--events-per-user', '1', '--users-upsert', 'weekly']),
    ).toThrow();
  });
});
