// Loads what a collector published (an InMemoryTransport's messages) through the loader's own command
// (`functions/src/cli/load.ts`, what `npm run load` runs) into a fresh DuckDB warehouse, and queries it: the last
// hop of a client's end-to-end test, without a stack.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { queryWarehouse } from '@sluice/infra/local';
import { rawLine } from '@sluice/sdk/protocol';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface LoadedWarehouse {
  /** Rows of `sql` as objects keyed by column name. */
  query(sql: string): Promise<Record<string, unknown>[]>;
  remove(): Promise<void>;
}

export async function loadPublished(lines: readonly string[]): Promise<LoadedWarehouse> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-published-'));
  const file = join(dir, 'published.ndjson');
  await writeFile(file, lines.map(rawLine).join(''));
  const run = spawnSync('npx', ['tsx', 'functions/src/cli/load.ts', file], {
    cwd: ROOT,
    env: { ...process.env, SLUICE_DATA_DIR: dir, SLUICE_LOG_LEVEL: 'warn' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (run.status !== 0) throw new Error(`npm run load failed (${run.status}): ${run.stdout}\n${run.stderr}`);
  const duckdb = join(dir, 'warehouse.duckdb');
  return {
    async query(sql) {
      const result = await queryWarehouse(duckdb, sql);
      return result.rows.map((row) => Object.fromEntries(result.columns.map((c, i) => [c, row[i]])));
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
