/**
 * Embedded mode: no emulator. The collector's spool transport writes the window files and POSTs the finalized
 * CloudEvent to the same loader, which fills DuckDB exactly as in the Pub/Sub topology.
 */
import { rm } from 'node:fs/promises';
import {
  countRowsByIdPrefix,
  expectedCounts,
  groupAlive,
  type LocalStack,
  pollUntil,
  sendEvents,
  syntheticEvents,
} from '@sluice/infra/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSpoolStack } from './local-pipeline.ts';

describe('local pipeline, spool transport (no emulator)', () => {
  let dir: string;
  let stack: LocalStack | undefined;

  beforeAll(async () => {
    ({ dir, stack } = await startSpoolStack('sluice-spool-e2e-'));
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
    const counts = await pollUntil(
      () => countRowsByIdPrefix(s.duckdbPath, 'spool-'),
      (c) => Object.entries(expected).every(([t, n]) => (c[t] ?? 0) >= n),
      { initial: {} as Record<string, number>, timeoutMs: 60_000 },
    );
    expect(counts).toMatchObject(expected);
  }, 90_000);

  it('stop() leaves nothing running', async () => {
    const s = stack!;
    await s.stop();
    stack = undefined;
    expect(s.processes.filter((p) => groupAlive(p.pid))).toEqual([]);
  });
});
