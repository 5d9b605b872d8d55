/**
 * The short form of the chaos suite, part of `npm test`: the scenarios of SHORT (those that hold on main; see
 * scenarios.ts), and a self-check of the harness on a real stack (one window, one load), proving that the checks
 * report a lost acknowledged event and pass otherwise.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, pollUntil, startStack } from '@sluice/infra/local';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  checkFailedEvents,
  checkLedger,
  checkNoFileStuck,
  checkNothingLeft,
  checkReconciliation,
  figures,
  listRawFiles,
  listTempFiles,
  type Observation,
} from './harness/checks.ts';
import { readWarehouseIsolated } from './harness/isolated-warehouse.ts';
import { createLedger } from './harness/ledger.ts';
import { processesOf } from './harness/processes.ts';
import { runScenario, SCENARIO_TIMEOUT_MS } from './harness/scenario.ts';
import { batchBody, postBatch } from './harness/traffic.ts';
import { SCENARIOS, SHORT } from './scenarios.ts';

describe('chaos (short form)', () => {
  it('harness self-check: one window on a real stack; the ledger check finds exactly the id that was never sent', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-chaos-self-'));
    const config = loadConfig({ ...process.env, SLUICE_DATA_DIR: dir, SLUICE_WINDOW_SECONDS: '1' });
    const stack = await startStack({
      config,
      logger: pino({ level: 'silent' }),
      collectorPort: 0,
      transport: 'spool',
    });
    const ledger = createLedger();
    const target = { collectorUrl: stack.collectorUrl, writeKey: stack.writeKey };
    try {
      const at = new Date().toISOString();
      const events = Array.from({ length: 100 }, (_, i) => ({
        type: 'track',
        event: 'Self Check',
        messageId: `self-${i}`,
        anonymousId: `a-${i}`,
        timestamp: at,
      }));
      const refused = { type: 'track', messageId: 'self-refused', event: 'No Identity', timestamp: at };
      const { status } = await postBatch(
        target,
        ledger,
        [...events.map((e) => e.messageId), 'self-refused'],
        batchBody([...events, refused]),
      );
      expect(status).toBe(400);
      const loaded = await pollUntil(
        () => readWarehouseIsolated(stack.duckdbPath),
        (w) => events.every((e) => w.idCounts.has(e.messageId)),
        { initial: { idCounts: new Map(), failed: [], loads: [] }, timeoutMs: 30_000, intervalMs: 300 },
      );
      expect(loaded.loads).toHaveLength(1);
    } finally {
      await stack.stop();
    }
    // An acknowledgement the warehouse cannot hold: the check must name it, and only it.
    ledger.record(['self-never-sent'], 200, null);
    const observation: Observation = {
      ledger,
      warehouse: await readWarehouseIsolated(stack.duckdbPath),
      rawFiles: await listRawFiles(stack.rawBucketDir),
      leftoverProcesses: await processesOf(dir),
      leftoverTempFiles: await listTempFiles(dir),
    };
    expect(ledger.acknowledged()).toHaveLength(101);
    expect(ledger.rejected().map((r) => r.id)).toEqual(['self-refused']);
    expect(checkLedger(observation)).toEqual([
      '1 acknowledged ids missing from the warehouse: self-never-sent',
    ]);
    expect([
      ...checkFailedEvents(observation),
      ...checkReconciliation(observation),
      ...checkNoFileStuck(observation),
      ...checkNothingLeft(observation),
    ]).toEqual([]);
    expect(figures(observation)).toMatchObject({
      acknowledged: 101,
      loaded: 100,
      lost: 1,
      doubled: 0,
      failed: 0,
    });
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  for (const name of SHORT) {
    const scenario = SCENARIOS[name];
    if (!scenario) throw new Error(`unknown scenario ${name}`);
    it(
      `${name}: every acknowledged event exactly once, nothing stuck or left behind`,
      async () => {
        const result = await runScenario(scenario);
        console.log(`${name}: ${JSON.stringify(result.figures)} ${result.notes.join('; ')}`);
        expect(result.problems).toEqual([]);
      },
      SCENARIO_TIMEOUT_MS,
    );
  }
});
