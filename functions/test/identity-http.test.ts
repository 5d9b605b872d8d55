import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Destination } from '../src/destinations/destination.ts';
import { duckdbDestination } from '../src/destinations/duckdb/duckdb-destination.ts';
import { loadObject } from '../src/load/load-object.ts';
import { createLogger } from '../src/logger.ts';
import { localDirectoryStore } from '../src/storage/local-directory.ts';
import { buildBundle, type FunctionServer, startFunction } from './helpers/function-server.ts';
import { withStore } from './helpers/identity.ts';
import { DEFAULT_SETTINGS, queryDuckdb } from './helpers/warehouse.ts';

/**
 * The scheduled identity update as Cloud Scheduler reaches it: the bundle's `updateIdentity` HTTP target served by
 * functions-framework (signature type `http`), here over DuckDB with the map left to the schedule.
 */
const ev = (o: Record<string, unknown>) =>
  JSON.stringify({
    type: 'identify',
    context: {},
    receivedAt: '2026-01-01T00:00:00.000Z',
    timestamp: '2026-01-01T00:00:01.000Z',
    traits: {},
    ...o,
  });

describe('updateIdentity over HTTP (functions-framework + bundle)', () => {
  let dir: string;
  let server: FunctionServer | undefined;
  const url = () => `http://127.0.0.1:${server?.port}/`;
  const db = () => path.join(dir, 'warehouse.duckdb');

  beforeAll(async () => {
    buildBundle();
    dir = await mkdtemp(path.join(tmpdir(), 'sluice-identity-fn-'));
    const file = path.join(dir, 'buckets', 'sluice-raw', 'f.ndjson');
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(
      file,
      `${ev({ messageId: 'h1', anonymousId: 'a1', userId: 'u1' })}\n${ev({ messageId: 'h2', anonymousId: 'a2', userId: 'u1' })}\n`,
    );
    // Loaded with the map left to the schedule (as on BigQuery): the log holds the links, the map nothing yet.
    const inner = duckdbDestination({ path: db(), lockTimeoutMs: 5000 });
    const hook = inner.identity as NonNullable<Destination['identity']>;
    const destination: Destination = {
      ...inner,
      identity: { schedule: 'scheduled', store: () => hook.store() },
    };
    await loadObject(
      {
        store: localDirectoryStore(path.join(dir, 'buckets')),
        destination,
        settings: DEFAULT_SETTINGS,
        logger: createLogger('silent'),
      },
      { bucket: 'sluice-raw', name: 'f.ndjson', generation: '1' },
    );
    server = await startFunction(
      { SLUICE_DATA_DIR: dir },
      // Ready when it accepts a connection (any HTTP request would run the update).
      { target: 'updateIdentity', signature: 'http', ready: 'connect' },
    );
  }, 120_000);

  afterAll(async () => {
    server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const query = (sql: string) => queryDuckdb(db(), sql);

  it('a POST runs the update (200, outcome and counts, one log line without id values); a held lease answers busy', async () => {
    const first = await fetch(url(), { method: 'POST' });
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ outcome: 'updated', ids: 3 });
    expect(await query('SELECT count(DISTINCT person_id) AS p, count(*) AS n FROM identity_map')).toEqual([
      { p: '1', n: '3' },
    ]);
    const line = (server?.logs() ?? '').split('\n').find((l) => l.includes('"message":"identity updated"'));
    expect(line).toBeDefined();
    expect(line).not.toContain('u1');
    // Another run holds the lease (a manual `npm run identity -- update`, say): the scheduled call does nothing.
    await withStore(duckdbDestination({ path: db(), lockTimeoutMs: 5000 }), async (s) => {
      const cell = s.updateState();
      const now = await cell.read();
      const state = JSON.parse(now?.text ?? '{}') as Record<string, unknown>;
      const held = { ...state, holder: 'manual', expiresAt: Date.now() + 60_000 };
      expect(await cell.write(JSON.stringify(held), now?.version ?? '0')).toBeDefined();
    });
    const busy = await fetch(url(), { method: 'POST' });
    expect(busy.status).toBe(200);
    expect(await busy.json()).toMatchObject({ outcome: 'busy', holder: 'manual' });
  }, 60_000);
});
