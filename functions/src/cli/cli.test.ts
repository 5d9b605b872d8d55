import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRange } from './replay-range.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));

function cli(script: 'load' | 'replay', args: string[], dataDir: string) {
  return spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(root, `functions/src/cli/${script}.ts`), ...args],
    {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, SLUICE_DATA_DIR: dataDir, SLUICE_LOG_LEVEL: 'silent' },
    },
  );
}

const line = (id: string) =>
  JSON.stringify({
    type: 'track',
    event: 'Clicked',
    messageId: id,
    userId: 'u',
    receivedAt: '2026-01-01T00:00:01Z',
    timestamp: '2026-01-01T00:00:00Z',
  });

describe('npm run load / npm run replay', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sluice-cli-'));
    const raw = path.join(dir, 'buckets', 'sluice-raw', 'raw');
    await mkdir(path.join(raw, '2026-01-01'), { recursive: true });
    await mkdir(path.join(raw, '2026-01-03'), { recursive: true });
    await writeFile(
      path.join(raw, '2026-01-01', '10_00_00+00:00_aaaaaaaa-0000-0000-0000-000000000001.ndjson'),
      `${line('a')}\n${line('b')}\n`,
    );
    await writeFile(
      path.join(raw, '2026-01-01', '10_10_00+00:00_aaaaaaaa-0000-0000-0000-000000000002.ndjson'),
      `${line('b')}\n${line('c')}\n`,
    );
    await writeFile(
      path.join(raw, '2026-01-03', '00_00_00+00:00_aaaaaaaa-0000-0000-0000-000000000003.ndjson'),
      `${line('z')}\n`,
    );
    await writeFile(path.join(dir, 'elsewhere.ndjson'), `${line('x')}\nnot json\n`);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function count(sql: string): Promise<number> {
    const instance = await DuckDBInstance.create(path.join(dir, 'warehouse.duckdb'));
    const connection = await instance.connect();
    try {
      return Number((await connection.runAndReadAll(sql)).getRows()[0]?.[0]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }

  it("run with the loader's process settings (they run themselves again in a child with them)", () => {
    for (const script of ['load', 'replay'] as const) {
      const help = cli(script, ['--help'], dir);
      expect(help.status, help.stderr).toBe(0);
      expect(help.stdout).toContain(
        'process settings: node --max-semi-space-size=8 --max-old-space-size=128; DUCKDB_JE_MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0',
      );
    }
    const asStarted = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'functions/src/cli/load.ts'), '--help'],
      { cwd: root, encoding: 'utf8', env: { ...process.env, SLUICE_LOADER_PROCESS: '1' } },
    );
    expect(asStarted.stdout).toContain('process settings: node (none)');
  }, 120_000);

  it('replay loads the files of a date range, and running it twice changes nothing', () => {
    const first = cli('replay', ['--from', '2026-01-01', '--to', '2026-01-02'], dir);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('2 file(s)');
    expect(first.stdout).toContain('files: loaded=2 skipped=0 failed=0');
    const second = cli('replay', ['--from', '2026-01-01', '--to', '2026-01-02'], dir);
    expect(second.stdout).toContain('files: loaded=0 skipped=2 failed=0');
    const forced = cli('replay', ['--from', '2026-01-01', '--to', '2026-01-02', '--force'], dir);
    expect(forced.stdout).toContain('files: loaded=2 skipped=0 failed=0');
  }, 120_000);

  it('leaves one row per event id after all that, and never touched the out-of-range file', async () => {
    expect(await count('SELECT count(*) FROM tracks')).toBe(3);
    expect(await count('SELECT count(DISTINCT id) FROM tracks')).toBe(3);
    expect(await count("SELECT count(*) FROM tracks WHERE id = 'z'")).toBe(0);
  });

  it('load takes any local file through the same code path (bad lines recorded)', async () => {
    const result = cli('load', [path.join(dir, 'elsewhere.ndjson')], dir);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/LOADED .*lines=2 loaded=1 duplicates=0 failed=1/);
    expect(
      await count(
        "SELECT count(*) FROM _sluice_failed_events WHERE error_code = 'SLUICE_ERR_LOAD_MALFORMED_JSON'",
      ),
    ).toBe(1);
  }, 120_000);

  it('parses date ranges (a date is a whole UTC day; --to includes its day)', () => {
    expect(parseRange('2026-01-01', '2026-01-01')).toEqual({
      ok: true,
      from: new Date('2026-01-01T00:00:00Z'),
      to: new Date('2026-01-02T00:00:00Z'),
    });
    expect(parseRange('2026-01-02', '2026-01-01').ok).toBe(false);
    expect(parseRange('soon', '2026-01-01').ok).toBe(false);
  });
});
