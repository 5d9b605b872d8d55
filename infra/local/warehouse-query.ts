import { existsSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { LocalError } from './errors.ts';

export type Cell = string | number | boolean | null | Cell[] | { [key: string]: Cell };

export interface QueryResult {
  columns: string[];
  rows: Cell[][];
}

export interface QueryOptions {
  /** How long to keep retrying while the loader holds the file's write lock. */
  lockRetryMs?: number;
}

/**
 * Runs one SQL statement against the warehouse file opened READ-ONLY, and closes it at once, so the loader
 * (which opens the file only while it loads) is blocked as briefly as possible. DuckDB allows one writer process
 * OR readers: while a load holds the lock, opening fails and is retried until `lockRetryMs` passes.
 */
export async function queryWarehouse(
  path: string,
  sql: string,
  options: QueryOptions = {},
): Promise<QueryResult> {
  if (!existsSync(path)) {
    throw new LocalError('SLUICE_ERR_LOCAL_QUERY', `no warehouse at ${path} yet (nothing loaded so far)`);
  }
  const deadline = Date.now() + (options.lockRetryMs ?? 15_000);
  let instance: DuckDBInstance | undefined;
  let openError: unknown;
  while (!instance) {
    try {
      instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
    } catch (error) {
      openError = error;
      if (Date.now() >= deadline) {
        throw new LocalError('SLUICE_ERR_LOCAL_WAREHOUSE_LOCKED', `could not open ${path} read-only`, {
          cause: openError,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
    }
  }
  try {
    const connection = await instance.connect();
    try {
      const reader = await connection.runAndReadAll(sql);
      return { columns: reader.columnNames(), rows: reader.getRowsJson() as Cell[][] };
    } catch (cause) {
      const detail = cause instanceof Error ? cause.message : String(cause);
      throw new LocalError('SLUICE_ERR_LOCAL_QUERY', `query failed: ${detail}`, { cause });
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/** Renders a result as an aligned text table. */
export function formatTable(result: QueryResult): string {
  const cell = (v: Cell): string =>
    v === null ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  const body = result.rows.map((row) => row.map(cell));
  const widths = result.columns.map((c, i) => Math.max(c.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ');
  const rule = widths.map((w) => '-'.repeat(w)).join('-+-');
  const count = `(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})`;
  return [line(result.columns), rule, ...body.map(line), count].join('\n');
}
