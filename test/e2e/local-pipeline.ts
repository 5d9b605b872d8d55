/** Shared by the local-pipeline end-to-end tests: an embedded stack in a temp dir, warehouse rows. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Cell, type LocalStack, loadConfig, queryWarehouse, startStack } from '@sluice/infra/local';
import { pino } from 'pino';

/** The embedded topology (spool transport, no emulator) with 1-second windows, its data in a fresh temp dir. */
export async function startSpoolStack(prefix: string): Promise<{ dir: string; stack: LocalStack }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const config = loadConfig({ ...process.env, SLUICE_DATA_DIR: dir, SLUICE_WINDOW_SECONDS: '1' });
  const stack = await startStack({
    config,
    logger: pino({ level: 'error' }),
    collectorPort: 0,
    transport: 'spool',
  });
  return { dir, stack };
}

/** A warehouse query's rows as objects keyed by column name. */
export async function warehouseRows(duckdbPath: string, sql: string): Promise<Record<string, Cell>[]> {
  const result = await queryWarehouse(duckdbPath, sql);
  return result.rows.map((row) => Object.fromEntries(result.columns.map((c, i) => [c, row[i] ?? null])));
}
