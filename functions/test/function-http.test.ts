import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { finalizedCloudEvent } from '@sluice/sdk/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeConcurrentDeliveries, describeQuarantineOverHttp } from './function-isolation.ts';
import { buildBundle } from './helpers/function-server.ts';

/**
 * The deployable as users run it: the esbuild bundle served by functions-framework, receiving binary-mode
 * `google.cloud.storage.object.v1.finalized` CloudEvents over HTTP.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const NAME = 'raw/2026-01-01/00_00_00+00:00_11111111-2222-3333-4444-555555555555.ndjson';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitFor(check: () => Promise<boolean>, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not met before the deadline');
}

// One build for every suite of this file (suites of one file run one after another).
beforeAll(() => buildBundle());

describe('loadEvents over HTTP (functions-framework + bundle)', () => {
  let dir: string;
  let child: ChildProcess;
  let port: number;
  let logs = '';

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sluice-fn-'));
    const file = path.join(dir, 'buckets', 'sluice-raw', NAME);
    await mkdir(path.dirname(file), { recursive: true });
    const line = (id: string, type = 'track') =>
      JSON.stringify({
        type,
        event: 'Signed Up',
        messageId: id,
        userId: 'u1',
        receivedAt: '2026-01-01T00:00:01.000Z',
        timestamp: '2026-01-01T00:00:00.000Z',
        context: { library: { name: 'test' } },
        properties: { plan: 'pro' },
        traits: { email: 'a@example.com' },
      });
    await writeFile(file, `${line('m1')}\n${line('m2', 'identify')}\n${line('m3', 'page')}\n{"broken"\n`);
    port = await freePort();
    child = spawn(
      path.join(root, 'node_modules/.bin/functions-framework'),
      [
        `--source=${path.join(root, 'functions/dist/index.js')}`,
        '--target=loadEvents',
        '--signature-type=cloudevent',
        `--port=${port}`,
      ],
      {
        env: { ...process.env, SLUICE_DATA_DIR: dir, SLUICE_LOG_LEVEL: 'info' },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout?.on('data', (d: Buffer) => {
      logs += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      logs += d.toString();
    });
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${port}/`, { method: 'GET' })).status > 0,
      20_000,
    );
  });

  afterAll(async () => {
    if (child?.pid) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await rm(dir, { recursive: true, force: true });
  });

  async function post(generation: string, data?: string) {
    const req = finalizedCloudEvent({
      bucket: 'sluice-raw',
      name: NAME,
      generation,
      size: 1,
      time: new Date(),
    });
    return fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: req.headers,
      body: data ?? req.body,
    });
  }

  async function query(sql: string) {
    const instance = await DuckDBInstance.create(path.join(dir, 'warehouse.duckdb'));
    const connection = await instance.connect();
    try {
      return (await connection.runAndReadAll(sql)).getRowObjectsJson();
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }

  it('loads the file, releases the DuckDB file, and a redelivery does not duplicate rows', async () => {
    expect((await post('1700000000000000')).status).toBe(204);
    // The warehouse can be opened by another process right after the invocation: the loader closed it.
    expect(await query('SELECT id, event, user_id, plan FROM signed_up')).toEqual([
      { id: 'm1', event: 'signed_up', user_id: 'u1', plan: 'pro' },
    ]);
    expect((await post('1700000000000000')).status).toBe(204);
    expect(
      await query(
        'SELECT (SELECT count(*) FROM tracks) AS t, (SELECT count(*) FROM identifies) AS i, (SELECT count(*) FROM pages) AS p, (SELECT count(*) FROM _sluice_failed_events) AS f, (SELECT count(*) FROM _sluice_loads) AS l',
      ),
    ).toEqual([{ t: '1', i: '1', p: '1', f: '1', l: '1' }]);
    expect(logs).toContain('"severity":"INFO"');
    expect(logs).not.toContain('a@example.com');
  });

  it('acknowledges an event whose data is not an object ref (no retry storm) and logs the code', async () => {
    const response = await post('1', JSON.stringify({ bucket: 'sluice-raw' }));
    expect(response.status).toBe(204);
    await waitFor(async () => logs.includes('SLUICE_ERR_LOAD_BAD_CLOUDEVENT'), 5000);
  });
});

describeConcurrentDeliveries();
describeQuarantineOverHttp();
