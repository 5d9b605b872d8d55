// `npm run bench -- latency`: end-to-end freshness on the local topology (the embedded stack: the collector's spool
// transport writes the window files, the loader loads them into DuckDB — the same loader code as on GCP) with a
// short window. Events are sent one at a time at a steady pace over several windows; for each event:
//   total      = row queryable - HTTP 200 (the collector's answer)
//   window     = window file finalized - HTTP 200 (the time the event waits for its window to close)
//   processing = row queryable - window file finalized (CloudEvent delivery + the load)
// "Row queryable" is the finished_at of the loads row written by the commit that made the row visible (a DuckDB
// reader blocks the loader, so the bench never polls the warehouse: it waits for the spool's outbox to empty, then
// checks once that every row is there). "Finalized" is the window file's ctime (set when the file is closed and renamed to its final name).
// Every acknowledged event must be queryable (`latency.lostEvents` = 0), --quick included.
// SLUICE_BENCH_DEBUG=1 keeps the data directory. SLUICE_BENCH_LATENCY_WINDOW (2 s), SLUICE_BENCH_LATENCY_EVENTS (200); --quick: 1 s windows, 12 events.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalStack, loadConfig, queryWarehouse, startStack } from '@sluice/infra/local';
import { pino } from 'pino';
import { type Figure, figure, type SuiteOptions, type SuiteResult } from './report.ts';

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sendOne(stack: LocalStack, id: string): Promise<number> {
  const res = await fetch(`${stack.collectorUrl}/v1/track`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(`${stack.writeKey}:`).toString('base64')}`,
    },
    body: JSON.stringify({
      type: 'track',
      event: 'Latency Probe',
      messageId: id,
      anonymousId: 'bench-latency',
      timestamp: new Date().toISOString(),
      properties: { n: 1 },
    }),
  });
  const at = Date.now();
  if (res.status !== 200) throw new Error(`collector answered ${res.status} for ${id}`);
  await res.arrayBuffer();
  return at;
}

interface LoadRow {
  loadId: string;
  bucket: string;
  name: string;
  finishedMs: number;
}

async function loads(stack: LocalStack): Promise<LoadRow[]> {
  try {
    const r = await queryWarehouse(
      stack.duckdbPath,
      `SELECT load_id, bucket, name, CAST(epoch_ms(finished_at) AS DOUBLE) FROM _sluice_loads WHERE status IS DISTINCT FROM 'quarantined'`,
    );
    return r.rows.map(([loadId, bucket, name, ms]) => ({
      loadId: String(loadId),
      bucket: String(bucket),
      name: String(name),
      finishedMs: Number(ms),
    }));
  } catch (error) {
    console.log(`latency: reading _sluice_loads failed: ${String(error)}`);
    return [];
  }
}

export async function run(options: SuiteOptions): Promise<SuiteResult> {
  const windowSeconds = options.quick ? 1 : Number(process.env.SLUICE_BENCH_LATENCY_WINDOW ?? 2);
  const count = options.quick ? 12 : Number(process.env.SLUICE_BENCH_LATENCY_EVENTS ?? 200);
  // Spread the events over about five windows (at least 10 ms apart).
  const gapMs = Math.max(10, (windowSeconds * 5000) / count);
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-latency-'));
  const config = loadConfig({
    ...process.env,
    SLUICE_DATA_DIR: dir,
    SLUICE_WINDOW_SECONDS: String(windowSeconds),
  });
  const stack = await startStack({
    config,
    logger: pino({ level: 'error' }),
    collectorPort: 0,
    transport: 'spool',
  });
  const prefix = `lat-${process.pid}-${Date.now().toString(36)}-`;
  const acked = new Map<string, number>();
  let figures: Figure[] = [];
  let ok = true;
  try {
    for (let i = 0; i < count; i++) {
      const id = `${prefix}${i}`;
      acked.set(id, await sendOne(stack, id));
      await sleep(gapMs);
    }
    // Wait without touching DuckDB (a reader blocks the loader): every window closed (its timer fired) and the
    // spool's outbox empty (an entry is removed only once the loader answered 2xx, i.e. after the commit).
    const outbox = join(config.bucketsDir, `.${config.rawBucket}.outbox`);
    const deadline = Date.now() + (options.quick ? 20_000 : 90_000) + windowSeconds * 3000;
    await sleep(windowSeconds * 1000 + 100);
    let rows: { id: string; loadId: string }[] = [];
    while (Date.now() < deadline) {
      while (Date.now() < deadline && (!existsSync(outbox) || readdirSync(outbox).length > 0))
        await sleep(50);
      try {
        const r = await queryWarehouse(
          stack.duckdbPath,
          `SELECT id, _sluice_load_id FROM tracks WHERE starts_with(id, '${prefix}')`,
        );
        rows = r.rows.map(([id, loadId]) => ({ id: String(id), loadId: String(loadId) }));
      } catch (error) {
        console.log(`latency: reading the tracks table failed: ${String(error)}`);
      }
      if (rows.length >= count) break;
      await sleep(1000); // a window timer that fired late (loaded machine): its file is not in the outbox yet
    }
    if (rows.length !== count) {
      // Every event answered 200 must land: a shortfall is a lost event (or a load that never finished), never noise.
      console.log(
        `latency: LOST EVENTS: ${rows.length} of ${count} acknowledged events queryable after every file was acknowledged by the loader`,
      );
      ok = false;
    }
    const loaded = await loads(stack);
    const byLoad = new Map(loaded.map((l) => [l.loadId, l]));
    const total: number[] = [];
    const windowShare: number[] = [];
    const processing: number[] = [];
    for (const row of rows) {
      const load = byLoad.get(row.loadId);
      const at = acked.get(row.id);
      if (!load || at === undefined) {
        ok = false;
        continue;
      }
      const finalized = statSync(join(config.bucketsDir, load.bucket, load.name)).ctimeMs;
      total.push(load.finishedMs - at);
      windowShare.push(finalized - at);
      processing.push(load.finishedMs - finalized);
    }
    const files = new Set(rows.map((r) => r.loadId)).size;
    console.log(
      `${count} events, ${gapMs.toFixed(0)} ms apart, ${windowSeconds} s windows, ${files} files, spool transport, DuckDB`,
    );
    const pct = (label: string, id: string, v: number[]) => {
      const [p50, p95, p99] = [50, 95, 99].map((p) => percentile(v, p) / 1000) as [number, number, number];
      console.log(`${label}: p50 ${p50.toFixed(2)} s, p95 ${p95.toFixed(2)} s, p99 ${p99.toFixed(2)} s`);
      return [50, 95, 99].map((p) =>
        figure({
          id: `latency.${id}.p${p}`,
          label: `end-to-end ${label} p${p} (${windowSeconds} s window)`,
          unit: 's',
          rounds: [percentile(v, p) / 1000],
          note: `${v.length} events over ${files} files`,
        }),
      );
    };
    figures = [
      figure({
        id: 'latency.lostEvents',
        label: 'events answered 200 but not queryable',
        unit: 'events',
        rounds: [count - rows.length],
        target: { of: 'value', op: '<=', limit: 0 },
      }),
      ...pct('HTTP 200 -> row queryable', 'total', total),
      ...pct('window share (200 -> file finalized)', 'window', windowShare),
      ...pct('processing (file finalized -> loads row)', 'processing', processing),
    ];
    if (processing.some((p) => p < -50)) {
      console.log(
        'latency: a load finished before its file was finalized (clock or ctime assumption broken)',
      );
      ok = false;
    }
  } finally {
    await stack.stop();
    if (process.env.SLUICE_BENCH_DEBUG) console.log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
  return { ok, figures };
}
