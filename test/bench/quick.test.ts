// CI proof that the bench harness works: `npm run bench -- --quick` runs every suite on tiny inputs and writes a
// results file of the documented shape. No timing is asserted (the machine is shared); counts and byte figures are.
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Results } from './report.ts';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const SUITES = ['sdk-size', 'traffic', 'collector', 'loader', 'bigquery-billing', 'latency'];
const IDS = [
  'sdk.sluice.gzipBytes',
  'traffic.browser.publishedBytesPerEvent',
  'traffic.server.publishedBytesPerEvent',
  'collector.track.reqPerS',
  'collector.batch.eventsPerS',
  'collector.batch.cpuSecondsPer1000Events',
  'loader.normalize.eventsPerS',
  'loader.fullLoad.peakRssMb',
  'loader.smallFile.cpuSeconds',
  'loader.file100.queuedSeconds',
  'bigquery.perFile.bytesBilled',
  'latency.lostEvents',
  'latency.total.p50',
  'latency.window.p99',
  'latency.processing.p95',
];

describe('npm run bench -- --quick', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-quick-'));
  const out = join(dir, 'results.json');
  let run: SpawnSyncReturns<string>;
  let results: Results;

  beforeAll(() => {
    run = spawnSync(
      join(REPO, 'node_modules', '.bin', 'tsx'),
      ['test/bench/run.ts', '--quick', '--out', out],
      {
        cwd: REPO,
        encoding: 'utf8',
        env: { ...process.env, SLUICE_BENCH_DEBUG: '' },
        timeout: 200_000,
      },
    );
    results = JSON.parse(readFileSync(out, 'utf8')) as Results;
  }, 210_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every suite and writes results.json of the documented shape', () => {
    expect(run.stdout).toContain('figure');
    expect(results.version).toBe(1);
    expect(results.quick).toBe(true);
    expect(results.machine.cpus).toBeGreaterThan(0);
    expect(results.suites.map((s) => s.name)).toEqual(SUITES);
    // Every suite ran to the end without throwing; the functional checks of all but latency passed (bundles
    // built, every event published and loaded). Latency's own check is the next test.
    expect(results.suites.filter((s) => s.error !== undefined)).toEqual([]);
    expect(
      results.suites.filter((s) => !s.ok && s.name !== 'latency'),
      run.stdout.slice(-3000),
    ).toEqual([]);
    const ids = results.figures.map((f) => f.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of IDS) expect(ids).toContain(id);
    for (const f of results.figures) {
      expect(f.rounds.length, f.id).toBeGreaterThan(0);
      expect(Number.isFinite(f.value), f.id).toBe(true);
      if (f.baseline) expect(Number.isFinite(f.baseline.value), f.id).toBe(true);
    }
    const byId = new Map(results.figures.map((f) => [f.id, f.value]));
    // Not timings: bytes are bytes.
    expect(byId.get('traffic.browser.publishedBytesPerEvent')).toBeGreaterThan(200);
    expect(byId.get('sdk.sluice.gzipBytes')).toBeLessThanOrEqual(5 * 1024);
  });

  it('end-to-end on the local topology: every event answered 200 is queryable', () => {
    const lost = results.figures.find((f) => f.id === 'latency.lostEvents')?.value;
    expect(
      lost,
      run.stdout
        .split('\n')
        .filter((l) => l.startsWith('latency:'))
        .join('\n'),
    ).toBe(0);
    expect(results.suites.find((s) => s.name === 'latency')?.ok).toBe(true);
    expect(run.status).toBe(0);
  });

  it("--compare reads a results file back and prints each figure's change", () => {
    const again = spawnSync(
      join(REPO, 'node_modules', '.bin', 'tsx'),
      ['test/bench/run.ts', '--quick', 'sdk-size', '--out', join(dir, 'again.json'), '--compare', out],
      { cwd: REPO, encoding: 'utf8', timeout: 60_000 },
    );
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/compare: .* -> /);
    expect(again.stdout).toContain('SDK bundle, min+gzip (sluice): ');
  }, 60_000);
});
