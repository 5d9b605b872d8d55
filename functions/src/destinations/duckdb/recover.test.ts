import { execFileSync, spawnSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { eventLine, type TestWarehouse, testWarehouse } from '../../../test/helpers/warehouse.ts';
import { recoverWarehouse } from './recover.ts';

const root = fileURLToPath(new URL('../../../..', import.meta.url));
const FILE = (n: number) => `raw/2026-01-01/00_0${n}_00+00:00_00000000-0000-0000-0000-00000000000${n}.ndjson`;

/** Commits one more load in a child process killed right after (SIGKILL: no checkpoint, the WAL holds it). */
function loadThenKill(wh: TestWarehouse, name: string): void {
  const script = `
    import { loadObject } from ${JSON.stringify(path.join(root, 'functions/src/load/load-object.ts'))};
    import { duckdbDestination } from ${JSON.stringify(path.join(root, 'functions/src/destinations/duckdb/duckdb-destination.ts'))};
    import { localDirectoryStore } from ${JSON.stringify(path.join(root, 'functions/src/storage/local-directory.ts'))};
    import { createLogger } from ${JSON.stringify(path.join(root, 'functions/src/logger.ts'))};
    import { DEFAULT_SETTINGS } from ${JSON.stringify(path.join(root, 'functions/test/helpers/warehouse.ts'))};
    const d = duckdbDestination({ path: ${JSON.stringify(wh.dbPath)}, lockTimeoutMs: 5000 });
    const close = d.close; d.close = async () => process.kill(process.pid, 'SIGKILL');
    await loadObject({ store: localDirectoryStore(${JSON.stringify(wh.bucketsDir)}), destination: d,
      settings: DEFAULT_SETTINGS, logger: createLogger('silent') }, { bucket: 'sluice-raw', name: ${JSON.stringify(name)}, generation: '1' });
    void close;`;
  const r = spawnSync(path.join(root, 'node_modules/.bin/tsx'), ['--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
  });
  // tsx runs the script in a child and exits with 128 + 9 when that child is killed.
  expect(r.signal ?? r.status, r.stderr).toSatisfy((s: unknown) => s === 'SIGKILL' || s === 137);
}

let wh: TestWarehouse | undefined;
afterEach(async () => {
  await wh?.cleanup();
  wh = undefined;
});

describe('recovering a warehouse a crash left unopenable (issue 12, item 1)', () => {
  it(`a corrupt WAL entry: the loader cannot open it; npm run recover makes it open; a plain replay reloads what was set aside`, async () => {
    wh = await testWarehouse();
    await wh.put(FILE(1), `${eventLine({ messageId: 'a1' })}\n${eventLine({ messageId: 'a2' })}\n`);
    await wh.put(FILE(2), `${eventLine({ messageId: 'b1' })}\n`);
    expect((await wh.load(FILE(1))).status).toBe('loaded');
    loadThenKill(wh, FILE(2));
    const wal = await readFile(`${wh.dbPath}.wal`);
    // Bytes of an entry flipped (what a torn or reordered write leaves): its checksum no longer matches.
    const broken = Buffer.from(wal);
    for (let k = 200; k < Math.min(wal.length, 260); k++) broken[k] = (broken[k] ?? 0) ^ 0xff;
    await writeFile(`${wh.dbPath}.wal`, broken);

    // Every delivery now fails with a retryable error (nothing is acknowledged, nothing dropped).
    const error = await wh.load(FILE(2)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SLUICE_ERR_LOAD_DESTINATION_UNAVAILABLE', retryable: true });
    expect(String((error as Error).message)).toMatch(/Failure while replaying WAL/);

    const out = execFileSync('npm', ['run', '-s', 'recover'], {
      cwd: root,
      env: { ...process.env, SLUICE_DUCKDB_PATH: wh.dbPath, SLUICE_DATA_DIR: wh.dir },
      encoding: 'utf8',
    });
    expect(out).toMatch(/recovered: the file opens at its last checkpoint/);
    const backups = (await readdir(wh.dir)).filter((n) => n.startsWith('warehouse.duckdb.recovery-'));
    expect(backups).toHaveLength(1);
    expect((await readdir(path.join(wh.dir, backups[0] as string))).sort()).toEqual([
      'warehouse.duckdb',
      'warehouse.duckdb.wal',
    ]);
    // The file opens at its last checkpoint: file 1 is there, file 2's load (in the WAL) is not.
    expect(await wh.query('SELECT name FROM _sluice_loads ORDER BY name')).toEqual([{ name: FILE(1) }]);
    // What a plain replay does: file 1 is skipped, file 2 loads once.
    expect((await wh.load(FILE(1))).status).toBe('already_loaded');
    expect((await wh.load(FILE(2))).status).toBe('loaded');
    expect(await wh.query('SELECT id FROM order_completed ORDER BY id')).toEqual([
      { id: 'a1' },
      { id: 'a2' },
      { id: 'b1' },
    ]);
    expect(await recoverWarehouse(wh.dbPath)).toEqual({ status: 'healthy' });
  }, 120_000);
});
