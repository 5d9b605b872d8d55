/**
 * Embedded mode: no emulator. The collector's spool transport writes the window files and POSTs the finalized
 * CloudEvent to the same loader, which fills DuckDB exactly as in the Pub/Sub topology.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  countRowsByIdPrefix,
  expectedCounts,
  groupAlive,
  type LocalStack,
  loadConfig,
  sendEvents,
  startStack,
  syntheticEvents,
} from '@sluice/infra/local';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('local pipeline, spool transport (no emulator)', () => {
  let dir: string;
  let stack: LocalStack | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-spool-e2e-'));
    const config = loadConfig({ ...process.env, SLUICE_DATA_DIR: dir, SLUICE_WINDOW_SECONDS: '1' });
    stack = await startStack({
      config,
      logger: pino({ level: 'error' }),
      collectorPort: 0,
      transport: 'spool',
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads every event of all six types into DuckDB', async () => {
    const s = stack!;
    expect(s.emulatorHost).toBeUndefined();
    expect(s.processes.map((p) => p.name).sort()).toEqual(['collector', 'loader']);
    const events = syntheticEvents({ count: 60, runId: 'spool', now: new Date() });
    const expected = expectedCounts(events);
    await sendEvents(events, { collectorUrl: s.collectorUrl, writeKey: s.writeKey, batchSize: 25 });
    let counts: Record<string, number> = {};
    const deadline = Date.now() + 60_000;
    const done = (): boolean => Object.entries(expected).every(([t, n]) => (counts[t] ?? 0) >= n);
    while (!done() && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      counts = await countRowsByIdPrefix(s.duckdbPath, 'spool-').catch(() => counts);
    }
    expect(counts).toMatchObject(expected);
  }, 90_000);

  it('stop() leaves nothing running', async () => {
    const s = stack!;
    await s.stop();
    stack = undefined;
    expect(s.processes.filter((p) => groupAlive(p.pid))).toEqual([]);
  });
});
