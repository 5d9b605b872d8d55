/**
 * The warehouse read from a child process (test/chaos/read-warehouse.ts): DuckDB runs natively, and a file left
 * corrupt by a crash may make it abort; the runner must survive that and report it.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { WarehouseState } from './warehouse.ts';

const run = promisify(execFile);
const SCRIPT = join(import.meta.dirname, '..', 'read-warehouse.ts');

async function read(args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', SCRIPT, ...args], {
    maxBuffer: 256 * 1024 * 1024,
    timeout: 180_000,
  });
  return stdout;
}

export async function readWarehouseIsolated(path: string): Promise<WarehouseState> {
  const parsed = JSON.parse(await read(['state', path])) as Omit<WarehouseState, 'idCounts'> & {
    idCounts: [string, number][];
  };
  return { ...parsed, idCounts: new Map(parsed.idCounts) };
}

export async function rowAsTextIsolated(
  path: string,
  table: string,
  id: string,
): Promise<Record<string, string | null>[]> {
  return JSON.parse(await read(['row', path, table, id])) as Record<string, string | null>[];
}
