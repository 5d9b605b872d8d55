import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeConcurrentDeliveries, describeQuarantineOverHttp } from './function-isolation.ts';
import { buildBundle, type FunctionServer, startFunction, waitFor } from './helpers/function-server.ts';
import { queryDuckdb } from './helpers/warehouse.ts';

/**
 * The deployable as users run it: the esbuild bundle served by functions-framework, receiving binary-mode
 * `google.cloud.storage.object.v1.finalized` CloudEvents over HTTP.
 */
const NAME = 'raw/2026-01-01/00_00_00+00:00_11111111-2222-3333-4444-555555555555.ndjson';

// One build for every suite of this file (suites of one file run one after another).
beforeAll(() => buildBundle());

describe('loadEvents over HTTP (functions-framework + bundle)', () => {
  let dir: string;
  let server: FunctionServer | undefined;
  const logs = () => server?.logs() ?? '';

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
    server = await startFunction({ SLUICE_DATA_DIR: dir });
  });

  afterAll(async () => {
    server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function post(generation: string, data?: string) {
    if (!server) throw new Error('the function is not running');
    return server.post({ name: NAME, generation }, data);
  }

  const query = (sql: string) => queryDuckdb(path.join(dir, 'warehouse.duckdb'), sql);

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
    expect(logs()).toContain('"severity":"INFO"');
    expect(logs()).not.toContain('a@example.com');
  });

  it('acknowledges an event whose data is not an object ref (no retry storm) and logs the code', async () => {
    const response = await post('1', JSON.stringify({ bucket: 'sluice-raw' }));
    expect(response.status).toBe(204);
    await waitFor(async () => logs().includes('SLUICE_ERR_LOAD_BAD_CLOUDEVENT'), 5000);
  });
});

describeConcurrentDeliveries();
describeQuarantineOverHttp();
