/**
 * Issue 12 item 5: the Pub/Sub emulator SIGKILLed and restarted under traffic. The supervisor holds publishing
 * (its gate) until topic and subscription both exist again, the stand-in resumes pulling, and no event the
 * collector answered 200 for is lost. The emulator keeps nothing on disk: an event it acknowledged and had not yet
 * delivered dies with it (documented), so the kill comes once the stand-in has everything acknowledged so far.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  groupAlive,
  type LocalStack,
  loadConfig,
  queryWarehouse,
  startStack,
  waitFor,
} from '@sluice/infra/local';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { descendants, postBatch, processTable } from './local-process.ts';

describe('local pubsub topology across an emulator restart', () => {
  let dir: string | undefined;
  let stack: LocalStack | undefined;
  afterAll(async () => {
    await stack?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('recreates topic and subscription before publishing resumes; every acked event loads once', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-emulator-restart-'));
    const config = loadConfig({ ...process.env, SLUICE_DATA_DIR: dir, SLUICE_WINDOW_SECONDS: '2' });
    stack = await startStack({
      config,
      logger: pino({ level: 'warn' }),
      collectorPort: 0,
      transport: 'pubsub',
    });
    const s = stack;
    const emulator = s.emulator;
    if (!emulator) throw new Error('pubsub stack without an emulator supervisor');
    const acked: string[] = [];
    let refused = 0;
    let batch = 0;
    const send = async (): Promise<void> => {
      const ids = Array.from({ length: 10 }, (_, i) => `er-${batch}-${i}`);
      batch += 1;
      if (await postBatch(s.collectorUrl, s.writeKey, ids)) acked.push(...ids);
      else refused += 1;
    };
    const loadedIds = async (): Promise<Map<string, number>> => {
      const result = await queryWarehouse(
        s.duckdbPath,
        "SELECT id, count(*) FROM tracks WHERE starts_with(id, 'er-') GROUP BY id",
      ).catch(() => ({ rows: [] as unknown[][] }));
      return new Map(result.rows.map((r) => [String(r[0]), Number(r[1])]));
    };
    const allLoaded = (what: string) =>
      waitFor(async () => ((await loadedIds()).size >= acked.length ? true : undefined), {
        what,
        timeoutMs: 120_000,
        intervalMs: 1000,
      });

    for (let i = 0; i < 10; i++) await send();
    expect(refused).toBe(0);
    await allLoaded('the first batches in DuckDB');

    const first = emulator.child;
    if (!first) throw new Error('no emulator process');
    // The emulator itself (gcloud's Java process) dies, as in a crash or an OOM kill.
    const java = descendants(first.pid).find((pid) =>
      /^java .*pubsub-emulator/.test(processTable().get(pid)?.cmd ?? ''),
    );
    expect(java).toBeDefined();
    process.kill(java ?? 0, 'SIGKILL');
    // Traffic continues through the outage: the gate holds publishes (503 after the collector's timeout), and
    // nothing is answered 200 before the subscription exists again.
    const recoveriesBefore = emulator.recoveries;
    await waitFor(
      async () => {
        await send();
        return emulator.recoveries > recoveriesBefore && refused > 0 ? true : undefined;
      },
      { what: 'the emulator and its topology back', timeoutMs: 120_000, intervalMs: 50 },
    );
    expect(groupAlive(first.pid)).toBe(false);
    expect(emulator.child?.pid).not.toBe(first.pid);
    for (let i = 0; i < 10; i++) await send();
    await s.standIn?.flush();
    await allLoaded('every acknowledged event in DuckDB after the restart');
    const loaded = await loadedIds();
    expect([...acked].filter((id) => loaded.get(id) !== 1)).toEqual([]);
    expect(acked.length).toBeGreaterThanOrEqual(200);
  }, 300_000);
});
