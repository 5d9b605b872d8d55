import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeGcp, startFakeGcp } from '../../../test/fakes/fake-gcp-server.ts';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');

const line = (id: string, at: string): string =>
  JSON.stringify({
    type: 'track',
    event: 'Signed Up',
    messageId: id,
    userId: 'u',
    receivedAt: at,
    timestamp: at,
  });

describe('npm run load / replay with gs:// and SLUICE_DESTINATION=bigquery (against the fake)', () => {
  let fake: FakeGcp;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    fake = await startFakeGcp({ project: 'cli' });
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      SLUICE_DESTINATION: 'bigquery',
      SLUICE_GCP_PROJECT: 'cli',
      SLUICE_BQ_DATASET: 'w',
      SLUICE_BIGQUERY_ENDPOINT: fake.url,
      STORAGE_EMULATOR_HOST: fake.url,
      SLUICE_RAW_BUCKET: 'raw',
      // No credentials in tests: google-auth-library must not probe the GCE metadata server.
      METADATA_SERVER_DETECTION: 'none',
    };
    fake.gcs.put(
      'raw',
      'raw/2026-03-01/10_00_00+00:00_aaaaaaaa.ndjson',
      `${line('c1', '2026-03-01T10:00:00Z')}\n`,
    );
    fake.gcs.put(
      'raw',
      'raw/2026-03-02/10_00_00+00:00_bbbbbbbb.ndjson',
      `${line('c2', '2026-03-02T10:00:00Z')}\n`,
    );
    fake.gcs.put(
      'raw',
      'raw/2026-03-05/10_00_00+00:00_cccccccc.ndjson',
      `${line('c3', '2026-03-05T10:00:00Z')}\n`,
    );
  });
  afterAll(async () => {
    await fake.close();
  });

  it('load gs://bucket/name, then replay a date range (already-loaded files skipped)', async () => {
    const loaded = await run(
      tsx,
      ['functions/src/cli/load.ts', 'gs://raw/raw/2026-03-01/10_00_00+00:00_aaaaaaaa.ndjson'],
      {
        cwd: root,
        env,
      },
    );
    expect(loaded.stdout).toContain('files: loaded=1 skipped=0 failed=0');
    const replay = await run(
      tsx,
      ['functions/src/cli/replay.ts', '--from', '2026-03-01', '--to', '2026-03-02'],
      {
        cwd: root,
        env,
      },
    );
    expect(replay.stdout).toContain('2 file(s) in raw');
    expect(replay.stdout).toContain('files: loaded=1 skipped=1 failed=0');
    const ids = await fake.bigquery.engine.query('SELECT id FROM `cli.w.tracks` ORDER BY id', {});
    expect(ids.rows.map((r) => r.f[0]!.v)).toEqual(['c1', 'c2']);
  }, 60_000);
});
