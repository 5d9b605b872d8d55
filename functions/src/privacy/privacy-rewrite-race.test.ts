import type { CloudEvent } from '@google-cloud/functions-framework';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/helpers/function-server.ts';
import { TARGET, windowFiles } from '../../test/helpers/privacy-people.ts';
import {
  type PrivacyPipeline,
  privacyDeleteChild,
  privacyPipeline,
  RAW_BUCKET,
} from '../../test/helpers/privacy-pipeline.ts';
import {
  CHANGED_ON_PURPOSE,
  checksum,
  DERIVED,
  dump,
  mentionsTarget,
} from '../../test/helpers/privacy-scenario.ts';
import { createDestinationFactory } from '../destinations/create-destination.ts';
import { TABLES } from '../destinations/destination.ts';
import { LoaderError } from '../errors.ts';
import { createLoadHandler } from '../handler.ts';
import { type LoadOutcome, loadObject } from '../load/load-object.ts';
import { createLogger } from '../logger.ts';
import { createObjectStore } from '../storage/create-object-store.ts';
import { createSuppressionSource } from './create-suppression-source.ts';
import { deletePerson } from './engine.ts';
import { ledger } from './ledger.ts';
import type { RawStore } from './raw-store.ts';
import { REWRITE_OF } from './rewrite-marker.ts';

/**
 * The race of a rewritten raw file on GCP: the rewrite is a new generation whose own `object.finalized` event may
 * reach the loader BEFORE the privacy request writes that generation's loads row (or the request may die in
 * between). The loader must answer `already_loaded` from the generation's rewrite mark, so that no event of the
 * other people in that file is loaded twice (the failed events, which are not de-duplicated, would double) and
 * none is lost. Each test compares every table with what an undisturbed delete leaves.
 */
const FILE_A = 'raw/2026-01-01/00_00_00+00:00_aaaaaaaa.ndjson';
const DAYS = 30;

/** Other people's events over 30 earlier days: `tracks` then holds 31 days, one of them the target's. */
function background(): Record<string, string> {
  const lines: string[] = [];
  for (let day = 0; day < DAYS; day++) {
    const at = new Date(Date.parse('2025-12-01T12:00:00Z') + day * 86_400_000).toISOString();
    for (let i = 0; i < 10; i++) {
      lines.push(
        JSON.stringify({
          type: 'track',
          event: 'Viewed',
          messageId: `bg-${day}-${i}`,
          userId: `u-bg-${i}`,
          timestamp: at,
          receivedAt: at,
        }),
      );
    }
  }
  return { 'raw/2025-12-01/00_00_00+00:00_bgbgbgbg.ndjson': `${lines.join('\n')}\n` };
}

async function loaded(
  name: 'duckdb' | 'bigquery',
  extra: Record<string, string> = {},
): Promise<{ p: PrivacyPipeline; before: Map<string, string[]> }> {
  const p = await privacyPipeline(name);
  const files = { ...windowFiles(), ...extra };
  for (const [file, content] of Object.entries(files)) await p.put(file, content);
  for (const file of Object.keys(files)) expect((await p.load(file)).status).toBe('loaded');
  const wh = await p.warehouse();
  try {
    return { p, before: await dump(wh) };
  } finally {
    await wh.close();
  }
}

/** Every table as an undisturbed delete leaves it: the others' rows byte-identical, nothing of the target. */
async function expectExact(p: PrivacyPipeline, before: Map<string, string[]>): Promise<void> {
  const wh = await p.warehouse();
  try {
    const after = await dump(wh);
    for (const [table, rows] of after) {
      if (CHANGED_ON_PURPOSE.has(table) || table === TABLES.eventIds) continue;
      // The identity graph's derived relations are recomputed (and on BigQuery created) by the erasure on purpose:
      // none of their rows may name the target, and the rest need not be byte-identical.
      if (DERIVED.test(table)) {
        expect(rows.filter(mentionsTarget), table).toEqual([]);
        continue;
      }
      const kept = (before.get(table) ?? []).filter((r) => !mentionsTarget(r));
      expect(rows.length, table).toBe(kept.length);
      expect(checksum(rows), table).toBe(checksum(kept));
    }
    expect(after.get(TABLES.failedEvents)?.length).toBe(1); // the other person's bad line, once
    // Each rewritten generation has exactly one loads row: the request's (never a second load of its lines).
    const rows = await wh.select(
      `SELECT load_key, reason, events_loaded, failed FROM ${wh.dialect.table(TABLES.loads)} WHERE name = ${wh.dialect.value('name')}`,
      { values: { name: FILE_A } },
    );
    expect(rows).toHaveLength(2);
    const rewritten = rows.find((r) => String(r.reason ?? '').startsWith('rewritten by privacy request'));
    expect(rewritten).toMatchObject({ events_loaded: expect.anything(), failed: expect.anything() });
    expect(Number(rewritten?.events_loaded)).toBe(0);
    expect(Number(rewritten?.failed)).toBe(0);
    const [request] = await ledger(wh).list();
    expect(request).toMatchObject({ status: 'done', ids: null, filesRewritten: 2 });
  } finally {
    await wh.close();
  }
}

/** The raw store of the request, stopped right after the upload of FILE_A's new generation. */
function stopAfterUpload(raw: RawStore, onUploaded: (generation: string) => Promise<void>): RawStore {
  return {
    ...raw,
    async replace(bucket, name, data, ifGeneration, metadata) {
      const generation = await raw.replace(bucket, name, data, ifGeneration, metadata);
      if (bucket === RAW_BUCKET && name === FILE_A) await onUploaded(generation);
      return generation;
    },
  };
}

function handlerOf(
  p: PrivacyPipeline,
): Promise<(event: CloudEvent<unknown>) => Promise<LoadOutcome | undefined>> {
  return (async () =>
    createLoadHandler({
      config: p.config,
      logger: createLogger('silent'),
      store: await createObjectStore(p.config),
      destination: createDestinationFactory(p.config),
      suppression: await createSuppressionSource(p.config),
    }))();
}

const finalized = (data: unknown): CloudEvent<unknown> =>
  ({
    id: `evt-${Math.random()}`,
    specversion: '1.0',
    type: 'google.cloud.storage.object.v1.finalized',
    source: `//storage.googleapis.com/projects/_/buckets/${RAW_BUCKET}`,
    data,
  }) as CloudEvent<unknown>;

describe('a rewritten raw file reaching the loader before the request recorded it', () => {
  let p: PrivacyPipeline | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  it("BigQuery: the new generation's finalized event (as GCS sends it, metadata included) is delivered while the request is held between upload and loads row: already_loaded, nothing doubled or lost; every DELETE prunes to the person's days", {
    timeout: 120_000,
  }, async () => {
    const setup = await loaded('bigquery', background());
    p = setup.p;
    const fake = p.fake!;
    const handler = await handlerOf(p);
    let answer: LoadOutcome | undefined;
    const wh = await p.warehouse();
    const raw = stopAfterUpload(p.raw, async (generation) => {
      // The object.finalized payload is the object resource (StorageObjectData), its custom metadata included.
      const object = fake.gcs.get(RAW_BUCKET, FILE_A, generation)!;
      expect(object.metadata?.[REWRITE_OF]).toMatch(/^\d+$/);
      answer = await handler(finalized(fake.gcs.resource(object)));
    });
    // SELECT * scans every column of every partition: the table's size (the t of an unpruned DELETE).
    expect((await wh.select(`SELECT * FROM ${wh.dialect.table('tracks')}`)).length).toBeGreaterThan(
      DAYS * 10,
    );
    const tableSize = [...fake.bigquery.jobs.values()].at(-1)!.result!.bytesProcessed;
    const out = await deletePerson({ ...p.deps(wh), raw }, { userIds: [TARGET.userId], anonymousIds: [] });
    await wh.close();
    // Partition pruning (the strict fake models it and DML's q' + t', fake-bigquery-pruning.ts): the DELETE of
    // tracks scans the target's one day of 31, not the table; the 10 MB minimum is what it bills at this size.
    expect(out.plan.partitions?.tracks).toEqual(['2026-01-01']);
    const deletes = [...fake.bigquery.jobs.entries()].filter(([id]) => id.includes(`_delete_`));
    const tracks = deletes.find(([id]) => id.includes('_delete_tracks_'))![1].result!;
    expect(tracks.affectedRows).toBe(3);
    expect(tableSize).toBeGreaterThan(20_000);
    expect(tracks.bytesProcessed).toBeLessThan(tableSize / 10);
    expect(tracks.bytesBilled).toBe(10 * 1024 * 1024);
    // The ledger records what its DELETEs billed.
    expect(Number(out.row!.bytesBilled)).toBe(
      deletes.reduce((sum, [, job]) => sum + (job.result?.bytesBilled ?? 0), 0),
    );
    await expectExact(p, setup.before);
    expect(answer?.status).toBe('already_loaded');
    expect(answer?.record.reason).toContain('rewrite of generation');
    // And a later replay of every file changes nothing.
    for (const file of Object.keys(windowFiles())) expect((await p.load(file)).status).toBe('already_loaded');
    await expectExact(p, setup.before);
  });

  it('BigQuery: the CLI SIGKILLed between the upload and the loads row (its INSERT never reached BigQuery), the loader delivered (no metadata in the event: one objects.get), then the request re-run: exact', {
    timeout: 120_000,
  }, async () => {
    const setup = await loaded('bigquery');
    p = setup.p;
    const fake = p.fake!;
    // The loads-row INSERT of the rewrite is dropped before BigQuery sees it (the client retries it meanwhile).
    const insertOfLoads = /sluice_privacy_[^"]*_insert__sluice_loads_/;
    fake.faults.add({
      method: 'POST',
      path: /\/jobs$/,
      bodyMatches: insertOfLoads,
      action: { kind: 'drop' },
      times: Infinity,
    });
    const first = cli(p);
    await waitFor(
      async () => fake.requests.some((r) => r.status === 0 && insertOfLoads.test(r.rawBody.toString('utf8'))),
      60_000,
    );
    first.child.kill('SIGKILL');
    await first.exited;
    fake.faults.clear();
    const live = fake.gcs.get(RAW_BUCKET, FILE_A)!;
    expect(live.metadata?.[REWRITE_OF]).toBeDefined(); // really uploaded, and no loads row yet:
    const gets = fake.requests.length;
    const handler = await handlerOf(p);
    const answer = await handler(
      finalized({ bucket: RAW_BUCKET, name: FILE_A, generation: live.generation }),
    );
    expect(answer?.status).toBe('already_loaded');
    expect(
      fake.requests
        .slice(gets)
        .filter((r) => r.service === 'gcs' && r.method === 'GET' && r.query.generation === live.generation),
    ).toHaveLength(1);
    const second = cli(p);
    expect(await second.exited).toBe(0);
    expect(second.lines.some((l) => l.startsWith('resuming request'))).toBe(true);
    await expectExact(p, setup.before);
  });

  it('DuckDB: the request dies right after the upload (the sidecar mark is on disk), the writer redelivers the file, then the request re-run: exact', {
    timeout: 120_000,
  }, async () => {
    const setup = await loaded('duckdb');
    p = setup.p;
    const raw = stopAfterUpload(p.raw, async () => {
      throw new LoaderError('SLUICE_ERR_LOAD_OBJECT_READ', 'the request died here');
    });
    let wh = await p.warehouse();
    await expect(
      deletePerson({ ...p.deps(wh), raw }, { userIds: [TARGET.userId], anonymousIds: [] }),
    ).rejects.toThrow('the request died here');
    await wh.close();
    const live = await p.raw.stat(RAW_BUCKET, FILE_A);
    expect(live?.metadata?.[REWRITE_OF]).toBeDefined();
    // What the stand-in / spool send: bucket, name, generation only.
    const outcome = await loadObject(
      {
        store: await createObjectStore(p.config),
        destination: await createDestinationFactory(p.config)(),
        settings: p.config,
        logger: createLogger('silent'),
        suppression: await createSuppressionSource(p.config),
      },
      { bucket: RAW_BUCKET, name: FILE_A, generation: live!.generation },
    );
    wh = await p.warehouse();
    await deletePerson(p.deps(wh), { userIds: [TARGET.userId], anonymousIds: [] });
    await wh.close();
    await expectExact(p, setup.before);
    expect(outcome.status).toBe('already_loaded');
  });
});

const cli = privacyDeleteChild;
