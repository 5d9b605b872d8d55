/**
 * Issue 12 item 5: the Pub/Sub emulator SIGKILLed and restarted under traffic. The supervisor holds publishing
 * (its gate) until topic and subscription both exist again, the stand-in resumes pulling, and no event the
 * collector answered 200 for is lost. The emulator keeps nothing on disk: an event it acknowledged and had not yet
 * delivered dies with it (documented), so the kill comes once the stand-in has everything acknowledged so far.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import {
  groupAlive,
  type LocalStack,
  loadConfig,
  queryWarehouse,
  startStack,
  waitFor,
} from '@sluice/infra/local';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { descendants, postBatch, processTable } from './local-process.ts';

describe('local pubsub topology across an emulator restart', () => {
  let dir: string | undefined;
  let stack: LocalStack | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-emulator-restart-'));
    const config = loadConfig({ ...process.env, SLUICE_DATA_DIR: dir, SLUICE_WINDOW_SECONDS: '2' });
    stack = await startStack({
      config,
      logger: pino({ level: 'warn' }),
      collectorPort: 0,
      transport: 'pubsub',
    });
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('recreates topic and subscription before publishing resumes; every acked event loads once', async () => {
    const s = stack;
    if (!s) throw new Error('no stack');
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
    // Traffic continues through the outage: the gate holds publishes (503 after the collector's timeout, or a 200
    // once the gate opens again if the restart beats that timeout: whether any request is refused depends on how
    // fast this machine restarts Java, so the test does not require one), and nothing is answered 200 before the
    // subscription exists again: every event answered 200 is checked in DuckDB below.
    const recoveriesBefore = emulator.recoveries;
    await waitFor(
      async () => {
        await send();
        return emulator.recoveries > recoveriesBefore ? true : undefined;
      },
      { what: 'the emulator and its topology back', timeoutMs: 180_000, intervalMs: 50 },
    ).catch((error: unknown) => {
      const state = {
        recoveries: emulator.recoveries,
        refused,
        acked: acked.length,
        child: emulator.child?.pid,
      };
      throw new Error(`${String(error)}; supervisor state ${JSON.stringify(state)}`);
    });
    expect(groupAlive(first.pid)).toBe(false);
    expect(emulator.child?.pid).not.toBe(first.pid);
    for (let i = 0; i < 10; i++) await send();
    await s.standIn?.flush();
    await allLoaded('every acknowledged event in DuckDB after the restart');
    const loaded = await loadedIds();
    expect([...acked].filter((id) => loaded.get(id) !== 1)).toEqual([]);
    expect(acked.length).toBeGreaterThanOrEqual(200);
  }, 420_000);

  it('a deleted subscription is recreated and the stand-in resumes pulling', async () => {
    const s = stack;
    const emulator = s?.emulator;
    if (!s || !emulator?.upstream) throw new Error('no pubsub stack');
    const client = new PubSub({
      projectId: 'demo',
      apiEndpoint: emulator.upstream,
      emulatorMode: true,
      universeDomain: 'googleapis.com',
    });
    const recoveriesBefore = emulator.recoveries;
    await client.subscription('sluice-raw-writer').delete();
    await client.close();
    await waitFor(async () => (emulator.recoveries > recoveriesBefore ? true : undefined), {
      what: 'the subscription recreated',
      timeoutMs: 30_000,
    });
    const ids = Array.from({ length: 50 }, (_, i) => `sub-gone-${i}`);
    await waitFor(async () => ((await postBatch(s.collectorUrl, s.writeKey, ids)) ? true : undefined), {
      what: 'a batch accepted after the repair',
      timeoutMs: 60_000,
    });
    const rows = await waitFor(
      async () => {
        const result = await queryWarehouse(
          s.duckdbPath,
          "SELECT id, count(*) FROM tracks WHERE starts_with(id, 'sub-gone-') GROUP BY id",
        ).catch(() => ({ rows: [] as unknown[][] }));
        return result.rows.length >= ids.length ? result.rows : undefined;
      },
      { what: 'the stand-in pulling again (events loaded)', timeoutMs: 120_000, intervalMs: 1000 },
    );
    expect(rows.map((r) => String(r[0])).sort()).toEqual([...ids].sort());
  }, 240_000);
});
