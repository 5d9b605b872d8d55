import { copyFile, mkdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { isLockConflict } from './duckdb-errors.ts';

/** What `recoverWarehouse` found and did. */
export type RecoveryResult =
  | { status: 'healthy' }
  | { status: 'recovered'; backupDir: string; error: string }
  | { status: 'unrecoverable'; backupDir: string | undefined; error: string };

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

async function tryOpen(file: string): Promise<string | undefined> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  try {
    const instance = await DuckDBInstance.create(file);
    const connection = await instance.connect();
    // A checkpoint writes what was replayed into the file and empties the WAL.
    await connection.run('CHECKPOINT');
    connection.closeSync();
    instance.closeSync();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message.split('\n')[0] : String(error);
  }
}

/**
 * Makes a DuckDB warehouse that a crash left unopenable open again (docs/warehouse-schema.md, "Recovering a
 * warehouse DuckDB cannot open"). Run it with the loader stopped. If the file opens, nothing is changed. If it
 * does not and a WAL exists (`Failure while replaying WAL file ...`), the database file and the WAL are copied to
 * `<path>.recovery-<time>/` and the WAL is moved there: the file opens at its last checkpoint. The transactions the
 * WAL held (whole loads, each with its loads row) are then missing, and `npm run replay` over their time range
 * (without --force) loads exactly those files again, skipping the ones the file still has. A file that fails without
 * a WAL is left as it is: rebuild the warehouse from the raw files (see the docs).
 */
export async function recoverWarehouse(file: string, now: Date = new Date()): Promise<RecoveryResult> {
  const first = await tryOpen(file);
  if (first === undefined) return { status: 'healthy' };
  const wal = `${file}.wal`;
  if (isLockConflict(new Error(first))) {
    return { status: 'unrecoverable', backupDir: undefined, error: `${first} (stop the loader first)` };
  }
  if (!(await exists(wal))) return { status: 'unrecoverable', backupDir: undefined, error: first };
  const backupDir = `${file}.recovery-${now.toISOString().replace(/[:.]/g, '-')}`;
  await mkdir(backupDir, { recursive: true });
  await copyFile(file, path.join(backupDir, path.basename(file)));
  await rename(wal, path.join(backupDir, path.basename(wal)));
  const second = await tryOpen(file);
  if (second !== undefined) return { status: 'unrecoverable', backupDir, error: second };
  return { status: 'recovered', backupDir, error: first };
}
